//! The service over a real store and a hand-made chain.
