//! docs/CLI.md is exactly what the current binary's clap definitions render
//! (`systole cli-reference`); regenerate it with `make docs`.

use std::path::Path;
use std::process::Command;

#[test]
fn docs_cli_md_matches_the_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_systole")).arg("cli-reference").output().expect("run systole");
    assert!(out.status.success(), "systole cli-reference failed: {}", String::from_utf8_lossy(&out.stderr));
    let generated = String::from_utf8(out.stdout).expect("utf-8 page");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CLI.md");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `make docs` to generate it", path.display()));
    if committed != generated {
        let (line, want, have) = generated
            .lines()
            .chain(std::iter::repeat(""))
            .zip(committed.lines().chain(std::iter::repeat("")))
            .enumerate()
            .find(|(_, (g, c))| g != c)
            .map(|(i, (g, c))| (i + 1, g, c))
            .unwrap_or((0, "", ""));
        panic!(
            "docs/CLI.md is not what the current binary generates: run `make docs` and commit the result.\n\
             first difference at line {line}:\n  generated: {want:?}\n  docs/CLI.md: {have:?}"
        );
    }
}

#[test]
fn the_reference_covers_every_visible_subcommand_and_not_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_systole")).arg("cli-reference").output().expect("run systole");
    let page = String::from_utf8(out.stdout).expect("utf-8 page");
    for sub in ["inspect", "reference", "pack", "run", "generate", "simulate", "report", "quantize", "synth", "compare"]
    {
        assert!(page.contains(&format!("## systole {sub}\n")), "no section for `systole {sub}`");
        assert!(page.contains(&format!("Usage: systole {sub} ")), "no usage line for `systole {sub}`");
    }
    assert!(!page.contains("## systole cli-reference"), "the hidden subcommand documents itself");
    assert!(!page.contains('\u{1b}'), "ANSI escapes in the page");
}
