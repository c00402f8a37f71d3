pub mod compare;
pub mod generate;
pub mod inspect;
pub mod pack;
pub mod reference;
pub mod report;
pub mod run;
pub mod simulate;
