//! Fixed vectors from one swtpm 0.7.1 run (printed by the `print_test_vectors` test of
//! `usig/tests/tpm_swtpm.rs`), so that the pure-Rust verifier is tested without a TPM.

/// The signing key, SEC1 uncompressed.
pub const KEY: &str = "0425c4f39df05ba60e5843b73779ed83d3dfb00e07b78d8d6f16a2de0ce901bc3d3354bbc396f8a405b6d865a79bb55b5d900088b214447a59650bc2f8f36b94c2";
/// The key's qualified name.
pub const SIGNER: &str = "000b3acf510c5308df89143a7ada435c946b3390633f09fcb82f4e873734877f7e05";
/// The counter index's name.
pub const NV: &str = "000b8495372987ee1b58f8543925e43eb3702ae6a6d7dd3dad8eaba5e0341a2e74be";
/// The counter's value at provisioning (and the `v` the chain read: UI counter 1).
pub const BASE: u64 = 1;
/// The message of the honest UI.
pub const MESSAGE: &[u8] = b"PREPARE v=0 n=1";
/// Its attestation (exclusive, chain for v = 1).
pub const ATTEST: &str = "ff54434780160022000b3acf510c5308df89143a7ada435c946b3390633f09fcb82f4e873734877f7e0500208055614b8f703de5de110940f73768f52caca88853900d8650ed1b103f278ab00000000000000034000000010000000001201910230016363601002085bda9fc8691fb950abf167e15ec2f58ad3204d99e735cce50cc4dbe9682d78a";
/// Its signature's `r`.
pub const R: &str = "e9269799f57036b00a4118e59f9c77c58fd460482d07a84bc5b108ccdeef2923";
/// Its signature's `s`.
pub const S: &str = "104d611e6db5b46fd6fd0af5705421f5f8ca281825d5bbae96cb76642265e8b9";
/// Attack A's message: a second `GetSessionAuditDigest` on the same session.
pub const MESSAGE_A: &[u8] = b"PREPARE v=0 n=1'";
/// Attack A's attestation: same digest, `exclusiveSession` 0.
pub const ATTEST_A: &str = "ff54434780160022000b3acf510c5308df89143a7ada435c946b3390633f09fcb82f4e873734877f7e050020e0b596ac220bb773bf159acab9eb0e8c281f55209537260e54e3557194828faf0000000000000035000000010000000001201910230016363600002085bda9fc8691fb950abf167e15ec2f58ad3204d99e735cce50cc4dbe9682d78a";
/// Attack A's `r`.
pub const R_A: &str = "10d49b387fc92d2734240f46f9fc442aa912f3dea12c25ddf9af1be7d6b38f04";
/// Attack A's `s` (high: the TPM does not normalize).
pub const S_A: &str = "c143cfcccd7014915ace7897cd52e92276ab26ce14fa8dfb3f8311502f6953c8";

/// Decodes hex test data.
pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test vectors are hex"))
        .collect()
}

/// Decodes hex test data into an array.
pub fn unhex_n<const N: usize>(text: &str) -> [u8; N] {
    unhex(text)
        .try_into()
        .expect("test vector of the right length")
}
