//! Rater profiles: the one place their rules live (both adapters call it).

use super::{ReviewError, check_name, join_open_studies};
use crate::store::{Actor, RaterRecord, Store};
use crate::vocab::Specialty;

/// Creates a rater profile (name trimmed, 1 to [`super::MAX_NAME`]
/// characters, unique) and assigns the rater to open studies' items that
/// still need raters.
pub fn create_rater(
    store: &mut Store,
    name: &str,
    specialty: Specialty,
    actor: &Actor,
) -> Result<RaterRecord, ReviewError> {
    let name = check_name("rater", name)?;
    let rater = store.insert_rater(name, specialty, actor)?;
    join_open_studies(store, rater.id)?;
    Ok(rater)
}
