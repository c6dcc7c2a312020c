//! The tokio TCP adapter that drives the core peer protocol, and the embeddable `Node`.
