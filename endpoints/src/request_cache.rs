//! Being written (placeholder so the module tree is fixed while parts are built in parallel).
