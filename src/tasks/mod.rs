//! Tasks: the provider-neutral state machine, its clock, and its tokens.

pub mod clock;
pub mod store;
pub mod token;

pub use clock::{Clock, NotVirtual};
pub use store::{
    ActivityView, Applied, Completion, Handover, NewTask, Rejection, Stats, Status, Store,
    StoreError, TaskId, TaskSpec, TaskView, TimeoutKind,
};
pub use token::{TokenCodec, TokenLengthError};
