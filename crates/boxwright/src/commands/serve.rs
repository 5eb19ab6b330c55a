//! `boxwright serve --config repo.yaml [--addr A]`.

use std::sync::Arc;

use anyhow::Context;

use super::ExitStatus;
use crate::cli::ServeArgs;
use crate::printer::Printer;

pub fn run(printer: &Printer, args: &ServeArgs) -> anyhow::Result<ExitStatus> {
    let config = boxwright_serve::ServeConfig {
        index_time: crate::context::env_source_date_epoch_lenient(),
        ..boxwright_serve::ServeConfig::load(&args.config)?
    };
    crate::context::block_on(async {
        // Log lines (uploads, refusals) on stderr, one line each.
        let log: boxwright_serve::Log = Arc::new(|line: &str| eprintln!("{line}"));
        let server = boxwright_serve::Server::bind(&config, args.addr.as_deref(), log)
            .await
            .with_context(|| format!("cannot start the server of {}", args.config.display()))?;
        let url = server.url()?;
        if printer.json {
            printer.json_line(&serde_json::json!({ "listening": url }));
        } else {
            printer.line(format!("listening on {url}"));
        }
        printer.info(format!("serving {}", config.dir.display()));
        server.run().await?;
        anyhow::Ok(())
    })??;
    Ok(ExitStatus::Success)
}
