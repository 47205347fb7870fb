//! Generates Tauri's build context (config, capabilities, icons).
fn main() {
    tauri_build::build();
}
