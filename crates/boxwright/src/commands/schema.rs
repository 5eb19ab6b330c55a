use super::ExitStatus;
use crate::printer::Printer;

pub fn run(printer: &Printer) -> ExitStatus {
    printer.json(&boxwright_metadata::schema::json_schema());
    ExitStatus::Success
}
