//! Module naming: rust-hdl calls the top `top` and every other module by its instance path
//! (`top$pe$acc`). The top gets the caller's name (a design-specific name, so several generated
//! designs can be linked together), and the rest `<top>__<path>` with `$` turned into `__`.

use super::netlist::Module;
use super::EmitError;
use std::collections::{BTreeMap, BTreeSet};

/// rust-hdl's fixed name of the top module.
pub const RUST_HDL_TOP: &str = "top";

/// Verilog-2005 keywords that could plausibly be asked for as a module name.
const RESERVED: &[&str] = &["module", "input", "output", "wire", "reg", "begin", "end", "always", "assign", "top"];

/// Checks that `name` is a plain Verilog identifier usable as a top-module name.
pub fn validate_top_name(name: &str) -> Result<(), EmitError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || RESERVED.contains(&name) {
        return Err(EmitError::BadTopName(name.to_string()));
    }
    Ok(())
}

/// Renames every module and its instantiations.
pub fn rename(modules: &mut [Module], top: &str) -> Result<(), EmitError> {
    let mut map = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for module in modules.iter() {
        let new = if module.name == RUST_HDL_TOP {
            top.to_string()
        } else {
            let path = module.name.strip_prefix("top$").unwrap_or(&module.name);
            format!("{top}__{}", path.replace('$', "__"))
        };
        if !taken.insert(new.clone()) {
            return Err(EmitError::NameClash(new));
        }
        map.insert(module.name.clone(), new);
    }
    if !map.contains_key(RUST_HDL_TOP) {
        return Err(EmitError::NoTop);
    }
    for module in modules.iter_mut() {
        module.rename_instances_by(|kind| map.get(kind).map(String::as_str));
        if let Some(new) = map.get(&module.name) {
            module.name = new.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_names_are_checked() {
        assert!(validate_top_name("systole_pe").is_ok());
        for bad in ["top", "", "1pe", "pe$x", "a b", "module"] {
            assert!(validate_top_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn renames_paths_and_instances() {
        let mut modules = vec![
            Module { name: "top".into(), ports: String::new(), body: vec!["    top$a$r r(".into()] },
            Module { name: "top$a$r".into(), ports: String::new(), body: vec![] },
        ];
        rename(&mut modules, "pe").unwrap();
        assert_eq!(modules[0].name, "pe");
        assert_eq!(modules[1].name, "pe__a__r");
        assert_eq!(modules[0].body[0], "    pe__a__r r(");
    }
}
