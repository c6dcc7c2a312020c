//! The test vectors of `docs/PROTOCOL.md`. If one of these changes, the protocol changed: every
//! node would disagree with every older one. Change the document in the same commit.

use chain_core::hash::{MerkleRoot, sha256};
use chain_core::merkle::{MerkleProof, merkle_root};
use chain_core::pow::CompactTarget;
use chain_core::prelude::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn genesis_blocks() {
    let devnet = ChainParams::devnet().genesis_block();
    assert_eq!(
        devnet.hash().to_string(),
        "00007c298811a371963e04ebc76a6468f3ab886cc5428430b2ae450090bd3b9a"
    );
    let regtest = ChainParams::regtest().genesis_block();
    assert_eq!(
        regtest.hash().to_string(),
        "040d3edbaa98f48ff361f86752bc9897dfa6c6efd4ca6058c98c01b36c8fe7c3"
    );
    assert_eq!(
        hex(&regtest.to_bytes()),
        "01000000\
         0000000000000000000000000000000000000000000000000000000000000000\
         f9ddbe0cd1a1a6d2eeeb023e6abf3612d299366d62948fe0b30db846eaa2b297\
         0025066b00000000\
         ffff7f20\
         0000000000000000\
         01\
         00\
         0000000000000000\
         0000000000000000000000000000000000000000\
         0000000000000000"
    );
}

#[test]
fn a_header_and_its_hash() {
    let header = Header {
        version: 1,
        prev_hash: BlockHash(sha256(&[b"prev"])),
        merkle_root: MerkleRoot(sha256(&[b"merkle"])),
        time: 1_800_000_000,
        bits: CompactTarget(0x1d40_0000),
        nonce: 42,
    };
    assert_eq!(
        hex(&header.to_bytes()),
        "01000000\
         84fd9bac333ad79154348296204fa7f8c537a96e08983e5f73b3f5aca8e8edf7\
         7975edd9e7393c229e744913fe0d0bb86fb4cf46906e2e51152137e20ad15590\
         00d2496b00000000\
         0000401d\
         2a00000000000000"
    );
    assert_eq!(
        header.hash().to_string(),
        "ec5280b1149889a5a0f0db9b978da554b5c24a637a11fa1e4d263b3294c2bb11"
    );
    assert_eq!(Header::from_bytes(&header.to_bytes()).unwrap(), header);
}

#[test]
fn a_signed_transfer() {
    let params = ChainParams::regtest();
    let sender = SecretKey::from_bytes([0x11; 32]).unwrap();
    let receiver = SecretKey::from_bytes([0x22; 32])
        .unwrap()
        .public_key()
        .address();
    let transfer = UnsignedTransfer {
        to: receiver,
        amount: Amount(150_000_000),
        fee: Amount(1_000),
        nonce: 0,
        memo: b"hello".to_vec(),
    }
    .sign(&sender, params.network_id);
    assert_eq!(
        transfer.from.to_string(),
        "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa"
    );
    assert_eq!(
        transfer.sender().to_text("reg"),
        "reg1td4e9vmmwevk82mp654rzud9fk3nw7xp50j3sw"
    );
    assert_eq!(
        receiver.to_text("reg"),
        "reg1fjv2l4shm3suz2v4ulxevpnl93xznlvhymspul"
    );
    assert_eq!(
        hex(&transfer.signing_hash(params.network_id)),
        "1c99c1556549f6230e8002fc7f65668fe42789e5749e347831a6923be210d04a"
    );
    assert_eq!(
        hex(&transfer.signature.0),
        "e73df91ab675b5da5d4871b4e5c062402acaacbf221f8176e00567dec4c0dd04\
         73228281c575a3352813381283e223d6401a52ef10af1ee6d7a555ad8af857b7"
    );
    assert_eq!(
        hex(&transfer.to_bytes()),
        "01\
         034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa\
         4c98afd617dc61c12995e7cd96067f2c4c29fd97\
         80d1f00800000000\
         e803000000000000\
         0000000000000000\
         0568656c6c6f\
         e73df91ab675b5da5d4871b4e5c062402acaacbf221f8176e00567dec4c0dd04\
         73228281c575a3352813381283e223d6401a52ef10af1ee6d7a555ad8af857b7"
    );
    assert_eq!(
        transfer.txid().to_string(),
        "4d0265d30e352767d8440d39fe7d835236369b17dad464100364521387d015d2"
    );
}

#[test]
fn a_merkle_root_and_proofs() {
    let txids: Vec<Txid> = (0u64..5)
        .map(|i| Txid(sha256(&[&i.to_le_bytes()])))
        .collect();
    let root = merkle_root(&txids);
    assert_eq!(
        root.to_string(),
        "af7d0a28aa91f5a51c1f9c80927c7f12a859f1228b78032d0e0833e7322bbaff"
    );
    let last = MerkleProof::build(&txids, 4).unwrap();
    let siblings: Vec<String> = last.siblings.iter().map(ToString::to_string).collect();
    assert_eq!(
        siblings,
        ["95349a4ddf5a0e815ce7c2583cadb032d6d62cacec07f83e41857ca23a108b3b"]
    );
    assert!(last.verify(&txids[4], &root));
    let second = MerkleProof::build(&txids, 1).unwrap();
    let siblings: Vec<String> = second.siblings.iter().map(ToString::to_string).collect();
    assert_eq!(
        siblings,
        [
            "aea833068048b82f42271c18e0076a5230cbc7d711c99de16a5917db14a3b044",
            "0d67c06f1c4e6c7dd73bc2d48dab64a35f901fc762569178ebe6df93541c741e",
            "298fe535266cf8991e3d5172a3ec7128f2d3dd29e3f5a127895df6b104cc2148",
        ]
    );
    assert!(second.verify(&txids[1], &root));
}
