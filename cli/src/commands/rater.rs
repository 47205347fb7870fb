//! `rater …`: rater profiles, under the same core rules as the desktop app.

use anyhow::Result;

use llm4sweat::review;
use llm4sweat::store::{Actor, Store};

use crate::args::RaterCommand;

/// `rater add` and `rater list`.
pub fn run(cmd: RaterCommand, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    match cmd {
        RaterCommand::Add { name, specialty } => {
            let rater = review::create_rater(&mut store, &name, specialty, &Actor::Cli)?;
            let queued = review::queue(&store, rater.id)?.len();
            println!(
                "created rater {:?} ({}), {queued} item{} to rate",
                rater.name,
                rater.specialty,
                if queued == 1 { "" } else { "s" }
            );
        }
        RaterCommand::List => {
            println!("{:<6} {:<40} SPECIALTY", "ID", "NAME");
            for r in store.raters()? {
                println!("{:<6} {:<40} {}", r.id, r.name, r.specialty);
            }
        }
    }
    Ok(())
}
