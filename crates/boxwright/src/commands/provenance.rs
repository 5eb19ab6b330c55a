//! `provenance SUBJECT [-o FILE]`: the SLSA v1 predicate, for `image attest --type
//! slsaprovenance --predicate FILE`.

use super::ExitStatus;
use super::sbom::{emit, options};
use super::subject;
use crate::cli::{GlobalArgs, ProvenanceArgs};
use crate::printer::Printer;

pub fn run(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ProvenanceArgs,
) -> anyhow::Result<ExitStatus> {
    let gathered = subject::gather(global, printer, &args.subject)?;
    let options = options(&gathered)?;
    let metadata = gathered.metadata_sha256()?;
    let document = boxwright_sbom::provenance::write(
        &gathered.subject,
        &options,
        metadata.as_deref(),
        &subject::environment(),
    );
    emit(
        printer,
        args.output.as_deref(),
        &document,
        &gathered,
        "slsa-provenance-v1",
    )
}
