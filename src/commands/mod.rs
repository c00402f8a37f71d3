pub mod compare;
pub mod inspect;
pub mod pack;
pub mod reference;
pub mod run;
