//! Seeds a workspace with synthetic items pending review, for the desktop
//! app's end-to-end test of the Synthetic screen (`tests/e2e/augment.test.mjs`)
//! and its screenshot: `seed_synthetic DB COUNT` registers a fake remote
//! generator and stores COUNT items through `testkit::seed_synthetic_items`
//! (as a finished augmentation run would, without asking a model), then
//! prints the items' external ids, one a line. Not shipped: examples build
//! with the dev-dependencies' `testkit` feature only.

use std::path::PathBuf;

use llm4sweat::DomainPack;
use llm4sweat::store::{Actor, Store};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::ModelRole;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: seed_synthetic DB COUNT".into());
    };
    let count: u64 = count.parse()?;
    let pack = DomainPack::embedded_default()?;
    let mut store = Store::open(&PathBuf::from(db))?;
    store.load_pack(&pack, &Actor::Cli)?;
    let name = "e2e-writer";
    let generator = match store.model_by_name(name) {
        Ok(m) => m,
        Err(_) => testkit::register_fake_models(
            &mut store,
            FakeModels::Remote,
            &[(name, ModelRole::Generator)],
        )?
        .remove(0),
    };
    let (_, ids) = testkit::seed_synthetic_items(&mut store, &pack, &generator, count)?;
    let mut out = String::new();
    for id in ids {
        out.push_str(&id);
        out.push('\n');
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}
