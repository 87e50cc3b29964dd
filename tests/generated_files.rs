//! The shell completions in completions/ and the man pages in man/ are generated from the clap
//! definition. This test regenerates them in memory and fails when the checked-in files
//! differ; with UPDATE_GENERATED=1 it writes them instead:
//!
//! ```sh
//! UPDATE_GENERATED=1 cargo test --test generated_files
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use posos_token::cli::{Cli, ENVIRONMENT_HELP};
use posos_token::exit_code::ExitCode;
use posos_token::sources::discovery::DISCOVERY_HELP;
use roff::{Roff, bold, roman};

const BIN: &str = "posos-token";

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test generated_files";

/// The CLI definition as the generators see it. Environment values are hidden so that the
/// output does not depend on the variables set where it runs.
fn command() -> clap::Command {
    Cli::command()
        .mut_arg("client_id", |arg| arg.hide_env_values(true))
        .disable_help_subcommand(true)
}

/// Every generated file, by path relative to the crate root.
fn generated() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();

    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut command(), BIN, &mut out);
        if shell == Shell::Bash {
            out = fix_bash_state_labels(out);
        }
        files.insert(Path::new("completions").join(shell.file_name(BIN)), out);
    }

    let mut root = command();
    root.build();
    let page_names: Vec<String> = std::iter::once(BIN.to_string())
        .chain(
            root.get_subcommands()
                .map(|sub| format!("{BIN}-{}", sub.get_name())),
        )
        .collect();
    let mut pages = vec![root.clone()];
    pages.extend(root.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for page in pages {
        let has_version = page.get_version().is_some();
        let after_help = page.get_after_help().map(|text| text.to_string());
        let man = clap_mangen::Man::new(page);
        let file_name = man.get_filename();
        let see_also: Vec<String> = page_names
            .iter()
            .filter(|name| format!("{name}.1") != file_name)
            .map(|name| format!("{name}(1)"))
            .collect();
        files.insert(
            Path::new("man").join(&file_name),
            render_man_page(
                &man,
                file_name == format!("{BIN}.1"),
                has_version,
                after_help.as_deref(),
                &see_also,
            ),
        );
    }
    files
}

/// Makes the bash script's case labels match the state its dispatch loop builds.
///
/// NOTE: clap_complete 4.6.12 spells the state of a subcommand of a hyphenated binary two
/// ways (`posos__token__subcmd__doctor` in the loop, `posos__subcmd__token__subcmd__doctor` in
/// the labels), so subcommand options never complete (clap-rs/clap#6421). Drop this when a
/// fixed release is in Cargo.lock; `bash_completes_subcommand_options` shows when it is needed.
fn fix_bash_state_labels(script: Vec<u8>) -> Vec<u8> {
    let script = String::from_utf8(script).unwrap();
    script
        .replace("posos__subcmd__token__subcmd__", "posos__token__subcmd__")
        .into_bytes()
}

/// Renders a man page with the sections clap_mangen makes, then EXIT STATUS, ENVIRONMENT and
/// SEE ALSO, in the order man-pages(7) gives. The main page's after-help text is left out,
/// because CREDENTIAL DISCOVERY and those sections carry its content; a subcommand's becomes
/// NOTES.
fn render_man_page(
    man: &clap_mangen::Man,
    is_root: bool,
    has_version: bool,
    after_help: Option<&str>,
    see_also: &[String],
) -> Vec<u8> {
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    if is_root {
        man.render_subcommands_section(&mut out).unwrap();
    }

    let mut roff = Roff::new();
    if is_root {
        preformatted_section(&mut roff, "CREDENTIAL DISCOVERY", DISCOVERY_HELP);
    } else if let Some(text) = after_help {
        preformatted_section(&mut roff, "NOTES", text);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for code in ExitCode::ALL {
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(code.code().to_string())]);
        roff.text([roman(code.meaning())]);
    }

    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in environment_entries() {
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(name)]);
        roff.text([roman(meaning)]);
    }

    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(see_also.join(", "))]);
    out.extend(roff.render().into_bytes());

    if has_version {
        man.render_version_section(&mut out).unwrap();
    }
    out
}

/// Adds a section that keeps the line breaks and indentation of `text`, as `--help` shows it.
fn preformatted_section(roff: &mut Roff, title: &str, text: &str) {
    roff.control("SH", [title]);
    roff.control("nf", [] as [&str; 0]);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", [] as [&str; 0]);
}

/// Reads the variables and their meanings from the `Environment:` block of `--help`, so that
/// the man page and `--help` have one source. A line indented past the names continues the
/// previous meaning.
fn environment_entries() -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in ENVIRONMENT_HELP.lines().skip(1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent <= 2 {
            // A long name is alone on its line, and its meaning starts on the next line.
            let (name, meaning) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
            entries.push((name.trim().to_string(), meaning.trim().to_string()));
        } else if let Some(last) = entries.last_mut() {
            if !last.1.is_empty() {
                last.1.push(' ');
            }
            last.1.push_str(trimmed);
        }
    }
    entries
}

#[test]
fn environment_block_parses() {
    let entries = environment_entries();
    assert!(
        entries
            .iter()
            .any(|(name, _)| name == "GOOGLE_APPLICATION_CREDENTIALS")
    );
    assert!(entries.iter().all(|(_, meaning)| !meaning.is_empty()));
    let names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.contains(&"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"),
        "{names:?}"
    );
}

#[test]
fn after_help_width() {
    // In a terminal narrower than a line, clap wraps it again at column 0, which breaks the
    // tables' indentation; 78 columns fit an 80-column terminal.
    let help = command().get_after_help().unwrap().to_string();
    for line in help.lines() {
        assert!(
            line.chars().count() <= 78,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn man_page_has_exit_status_and_environment() {
    let files = generated();
    let page = String::from_utf8(files[Path::new("man/posos-token.1")].clone()).unwrap();
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    assert!(page.contains(".SH ENVIRONMENT"));
    assert!(page.contains("GOOGLE_APPLICATION_CREDENTIALS"));
    for code in ExitCode::ALL {
        assert!(
            page.contains(&format!("\\fB{}\\fR", code.code())),
            "{code:?}"
        );
    }
    assert!(page.contains("inspect"));
    assert!(page.contains("doctor"));
}

#[test]
fn checked_in_files_match_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = generated();

    let update = std::env::var_os("UPDATE_GENERATED").is_some();

    let mut problems = Vec::new();
    for (path, contents) in &files {
        match std::fs::read(root.join(path)) {
            Ok(found) if found == *contents => {}
            _ if update => {
                std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
                std::fs::write(root.join(path), contents).unwrap();
            }
            Ok(_) => problems.push(format!("{} differs", path.display())),
            Err(_) => problems.push(format!("{} is missing", path.display())),
        }
    }
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root.join(dir)).into_iter().flatten() {
            let path = Path::new(dir).join(entry.unwrap().file_name());
            if files.contains_key(&path) {
                continue;
            }
            if update {
                std::fs::remove_file(root.join(&path)).unwrap();
            } else {
                problems.push(format!("{} is no longer generated", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the generated files are out of date with the CLI:\n  {}\nregenerate them with:\n  {REGENERATE}",
        problems.join("\n  ")
    );
}

/// Runs the checked-in bash completion function for the words typed so far and returns the
/// candidates it offers for the last word.
fn bash_candidates(words: &[&str]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/posos-token.bash");
    let quoted: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let current = words.last().unwrap();
    let previous = words[words.len() - 2];
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _posos__token posos-token '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let output = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(unix)]
#[test]
fn bash_completes_subcommands_and_values() {
    assert_eq!(bash_candidates(&["posos-token", "ins"]), ["inspect"]);
    assert_eq!(
        bash_candidates(&["posos-token", "--format", ""]),
        ["token", "header", "json"]
    );
}

#[cfg(unix)]
#[test]
fn bash_completes_subcommand_options() {
    assert_eq!(
        bash_candidates(&["posos-token", "doctor", "--off"]),
        ["--offline"]
    );
    assert_eq!(
        bash_candidates(&["posos-token", "inspect", "--js"]),
        ["--json"]
    );
}
