//! Differential vectors from the Sail model itself.
//!
//! Each table row is an input and the output of the C code that Sail generates from the
//! Morello specification (`cheri-compressed-cap` `test/contrib/sail_compression_128m.c`,
//! functions `CapGetBounds`, `CapSetBounds`, `CapIsRepresentableFast`,
//! `CapIsRepresentable`), run on random inputs. The model here agreed with that code on
//! 2.4 million such inputs when it was written; these rows keep a sample in the tree,
//! with both outcomes of every check represented.

use intravisor::capability::Cap;

/// `CapGetBounds`: (metadata, value, base, top, valid).
#[rustfmt::skip]
const DECODE: [(u64, u64, u64, u128, bool); 16] = [
    (0x0832e4939cd86d6f, 0xff934bc79c4121f9, 0x0000000000000000, 0x10000000000000000, false),
    (0xf2f569ffa2e8173e, 0x960f345cfc653301, 0x0000000000000000, 0x10000000000000000, false),
    (0x7e973aca38f98b0a, 0x0016ac918361ba69, 0x0000000000000000, 0x10000000000000000, false),
    (0x135d5c61905147bb, 0x00c0a980f9ac6823, 0x0000000000000000, 0x10000000000000000, false),
    (0xdf4915cb1d386fe2, 0xffeeb64aacead7b2, 0x0000000000000000, 0x10000000000000000, false),
    (0xe7fe678a2f6037a2, 0xff8e5095523396b3, 0x0000000000000000, 0x10000000000000000, false),
    (0x73ce7827bf09669c, 0x098ac9faa31ff19b, 0x0000000000000000, 0x10000000000000000, false),
    (0x95fd4b221da8c784, 0x0000001fffffffff, 0x0000000000000000, 0x10000000000000000, false),
    (0xffffc0003f890066, 0xf279a94cb9f74347, 0x00c0000000000000, 0xff10000000000000, true),
    (0xffffc00027910006, 0x2902f39cf1be07d3, 0x0000000000000000, 0xcf20000000000000, true),
    (0xffffc0003534fffd, 0x0000003b0f32b15b, 0xffffffffe0000000, 0x1000001d4c0000000, true),
    (0xffffc000377b0000, 0x0003c746189066a5, 0x0000000000000000, 0x3bbc0000000000, true),
    (0xbb0f5bb23daeb6e0, 0xffe54f2650086c6a, 0xffe54f265b700000, 0xffe54f267ed40000, true),
    (0x944c8ce9e25e71a0, 0x00000000000001ff, 0xffffffffffff71a0, 0xffffffffffffa25e, true),
    (0xffffc00000013ffd, 0xcb7f0c241350b473, 0xffe0000000000000, 0x0, true),
    (0xffffc0000c850004, 0x00000400ebd57c38, 0x0000040000000000, 0x40264000000, true),
];

/// `CapSetBounds`: (metadata, value, tag, length, exact, result tag, result metadata).
#[rustfmt::skip]
const SET_BOUNDS: [(u64, u64, bool, u64, bool, bool, u64); 24] = [
    (0xffffc0001e730001, 0x00000384a83e5b07, true, 0x000186cfb5b0ba90, false, true, 0xffffc000229b00e5),
    (0x90327897a192a798, 0xffffffffffbd0734, true, 0x0000000003dfc910, false, true, 0x90327897b3a6f7a4),
    (0xffffc00047f8b728, 0x004e6d4f19e2c68b, true, 0x000000000000000f, true, true, 0xffffc000469ac68b),
    (0xffffc00046f00000, 0x0000000000040602, true, 0x0000000000000050, false, true, 0xffffc00046520602),
    (0xffffc00028c20007, 0x000fa4a3dce2a95f, true, 0x00000000000007fd, true, true, 0xffffc000715ca95f),
    (0xffffc000000a0007, 0x0028bc8e83c29efe, true, 0x000801fcf7861f71, false, true, 0xffffc00005fb45e2),
    (0x4c012ff29b276f63, 0xffff07c6361adf0f, true, 0x0000000000005284, false, true, 0x4c012ff2b19fdf0f),
    (0xa5d6c81deac77cf8, 0x00000000000a82e4, true, 0x000000000000019c, false, true, 0xa5d6c81dc48082e4),
    (0xffffc0000fd91006, 0xffd6fd9472d89021, true, 0x0000ffffffffffff, false, true, 0xffffc0003f6bbf65),
    (0xffffc00037e30001, 0x000cf5e6f725384e, true, 0x00027241330d7999, false, true, 0xffffc0002d0b9ebc),
    (0xffffc00011fb57c2, 0xffd00155b1b666f7, true, 0x0003d706e7101e4c, false, true, 0xffffc0003b13002c),
    (0xffffc000409c0000, 0x000001000000007e, true, 0x000000000000000a, true, true, 0xffffc0004088007e),
    (0xf0520173323a7650, 0x00e8b08430935a91, false, 0x0001000000000000, true, false, 0xf05201732c2b2c25),
    (0x552b9936f97e3b8d, 0x002fe8b566a0fd01, true, 0xffe170ee0d9e24f6, true, false, 0x552b99368009000d),
    (0xffffc0001bdfdbd6, 0xffffffedd959f5ba, false, 0x4fb2316389fde1a9, false, false, 0xffffc0000fb9ffff),
    (0xffffc00030e9004e, 0x7e4e5108ed012f74, true, 0x0000200000000000, true, false, 0xffffc000221ca210),
    (0xe987fda60731b671, 0xffbc622d86ced2cf, true, 0x002be610a275f547, false, false, 0xe987fda6109b78c0),
    (0x22ac7e309dfa8eb9, 0x00218b5b09d2f70f, true, 0x417bf12c17dca2c8, false, false, 0x22ac7e3081a10027),
    (0x2ca206e48d042fcc, 0x03ffffffffffffff, true, 0x00000000ef7f8420, true, false, 0x2ca206e4b7c5fffe),
    (0xffffc000252a0006, 0x00937f2de1e92f3c, true, 0x00000009ceb978d0, true, false, 0xffffc0003d8d6f0a),
    (0x15dcfacc971b2284, 0x000000060627bf76, true, 0x00000000000ffffd, false, false, 0x15dcfacc9f079ef9),
    (0xffffc00000690076, 0xca4f72007b0b8b68, true, 0xffffffffffffffef, true, false, 0xffffc00032993295),
    (0xffffc00013d10006, 0xfff550c1d298021d, true, 0x7665a933b9172bcd, false, false, 0xffffc0003661fff7),
    (0xffffc000389a0003, 0x06b6243d07da2a4b, true, 0x00b290f41f68a928, true, false, 0xffffc0003462db16),
];

/// `CapIsRepresentableFast`: (metadata, value, increment, representable).
#[rustfmt::skip]
const FAST: [(u64, u64, u64, bool); 16] = [
    (0xffffc00008db08d3, 0x0013cde10ca16b2c, 0x00000a6100000000, true),
    (0xffffc00000013ffd, 0xd2a5f543464f4311, 0xffb1119803b8f0cc, true),
    (0xffffc000369a0007, 0x00765aaff8d0994c, 0x00000000002f9800, true),
    (0xffffc0003ae4fffa, 0x000006738e5988a4, 0x0000000000cb0580, true),
    (0xffffc0803872fe7e, 0x6af72a9c8590ee3c, 0xffffffffffff2f54, true),
    (0xffffc00013643ffc, 0x0000044917afc134, 0x00000000009b0de0, true),
    (0xffffc000147534e9, 0x004f7618b0406802, 0x0000000000000010, true),
    (0xffffc0001ca10006, 0x9e35fe73dd51a9b1, 0xfffffffff0240000, true),
    (0xffffc0007d8a7d85, 0x000002e9a4f47d88, 0xfffffffd38b20000, false),
    (0xffffc0003b3f0001, 0x0000000000064749, 0xffffffff635d0000, false),
    (0xf5860397e3c4095b, 0x0000000000014d96, 0x0b88d80000000000, false),
    (0xffffc00000060000, 0x000040001ce4e9e7, 0x00002896f929a5b0, false),
    (0xffffc0001a96aafb, 0x0058b62b3d8e7261, 0xffffc14fe0000000, false),
    (0x0b8f85317e71fc17, 0xfeb9689155d1467c, 0xfffffff616000000, false),
    (0xeee46c31fa151362, 0x002f9252b3e5d387, 0xd750c00000000000, false),
    (0x2f04a97e3f1d9ae8, 0xffc4765c4b4b88aa, 0xc99f800000000000, false),
];

/// `CapIsRepresentable`: (metadata, value, new value, representable).
#[rustfmt::skip]
const PRECISE: [(u64, u64, u64, bool); 16] = [
    (0xffffc000339ca7a2, 0x0000195332f9516d, 0x000019533363da6d, true),
    (0xffffc0003ff10006, 0xdb3863de3d8cd1af, 0xdb3863e17472d1af, true),
    (0xffffc0003fd90006, 0x8b59e9b5a4d44e09, 0x8b59e9b5a6d88e09, true),
    (0xffffc00031c10006, 0x996c758a6c62c997, 0x00d279b2f5e48c5c, true),
    (0xfff7c0001ed204c1, 0xf7770c53d8e0acc5, 0xf63ca053d8e0acc5, true),
    (0xffffc00000010005, 0x107af381368e3b2d, 0x107aef578f865199, true),
    (0xffffc0003af90006, 0x799e7e05bd1d0379, 0x7a8336c61cab0306, true),
    (0xff7fc0000fd20104, 0x00000000000fffff, 0x000000000010001e, true),
    (0xb8b4452cb0343b03, 0xff8654945e752562, 0xffeba17cc29703bc, false),
    (0x7a4d02bf06d181ec, 0xfffffffffe1add40, 0xffffffffffffffdd, false),
    (0x029f57c9b3a7af4d, 0x001ffffffffffffd, 0xc3777c8d3ab5a825, false),
    (0x830fc6df656f832a, 0x00f372bf4e200c01, 0x00f3717592200c01, false),
    (0x41b2b097851f9810, 0x627095f5bec10866, 0x00128bcb2952152d, false),
    (0xffffc00067732000, 0x0000000000002375, 0x9078000000002375, false),
    (0xffffc0003edefed3, 0x000000000381ac01, 0xffe498fe1b1acdc5, false),
    (0xffffc000053e0536, 0x00000000000ad37d, 0x0021aa583af29dbd, false),
];

#[test]
fn decode_matches_sail() {
    for (metadata, value, base, top, valid) in DECODE {
        let bounds = Cap::from_parts(false, metadata, value).bounds();
        assert_eq!((bounds.base, bounds.top, bounds.valid), (base, top, valid), "{metadata:#x} {value:#x}");
    }
}

#[test]
fn set_bounds_matches_sail() {
    for (metadata, value, tag, length, exact, result_tag, result_metadata) in SET_BOUNDS {
        let cap = Cap::from_parts(tag, metadata, value);
        let result = cap.set_bounds(length, exact).cap;
        let row = format!("{metadata:#x} {value:#x} {length:#x} exact={exact}");
        assert_eq!(result.metadata(), result_metadata, "{row}");
        assert_eq!(result.value(), value, "{row}");
        // Sail CapSetBounds leaves the sealed-input rule to the instruction.
        assert_eq!(result.tag(), result_tag && !cap.is_sealed(), "{row}");
    }
}

#[test]
fn fast_check_matches_sail() {
    for (metadata, value, increment, representable) in FAST {
        let cap = Cap::from_parts(false, metadata, value);
        assert_eq!(
            cap.is_representable_fast(increment),
            representable,
            "{metadata:#x} {value:#x} {increment:#x}"
        );
    }
}

#[test]
fn precise_check_matches_sail() {
    for (metadata, value, new_value, representable) in PRECISE {
        let cap = Cap::from_parts(false, metadata, value);
        assert_eq!(
            cap.is_representable_precise(new_value),
            representable,
            "{metadata:#x} {value:#x} {new_value:#x}"
        );
    }
}
