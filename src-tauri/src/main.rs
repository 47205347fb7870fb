//! The LLM4Sweat desktop app.
#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

fn main() -> std::process::ExitCode {
    // Started again as the supervised llama.cpp process of the app.
    if std::env::args_os().nth(1).as_deref()
        == Some(llm4sweat::inference::worker::WORKER_ARG.as_ref())
    {
        return llm4sweat::inference::worker::serve();
    }
    match llm4sweat_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
