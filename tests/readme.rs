//! The README's promises that code can check: its opening commands and its exit-code table.

use posos_token::exit_code::ExitCode;

const README: &str = include_str!("../README.md");

#[test]
fn opens_with_install_and_test_commands() {
    let block: Vec<&str> = README
        .lines()
        .skip_while(|line| !line.starts_with("```sh"))
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .collect();
    assert_eq!(block.len(), 2, "{block:?}");
    assert!(block[0].starts_with("cargo install --locked --path . && posos-token"));
    assert!(block[1].starts_with("cargo test --locked"));
}

#[test]
fn exit_code_table_lists_every_code() {
    for code in ExitCode::ALL {
        let row = format!("| {} |", code.code());
        assert!(
            README.contains(&row),
            "README lacks exit code {}",
            code.code()
        );
    }
}

#[test]
fn regeneration_command_is_documented() {
    assert!(README.contains("UPDATE_GENERATED=1 cargo test --test generated_files"));
}
