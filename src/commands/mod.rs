pub mod compare;
pub mod inspect;
pub mod reference;
