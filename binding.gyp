# The one native build (npm install runs it through scripts/build-native.mjs).
# Each SIMD kernel family lives in its own static library so that only its files get the ISA flags:
# the dispatcher decides at run time (cpuid / getauxval) which of them may run. Nothing here may
# change a stored byte: every kernel is byte-identical to the scalar reference (native/ec/ec_scalar.cc).
{
  "variables": {
    "sv_common_cflags": ["-O3", "-fPIC", "-fno-strict-aliasing", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "<@(sv_common_cflags)"],
    "cflags": ["<@(sv_common_cflags)"],
    "include_dirs": ["native"],
    "defines": ["NAPI_VERSION=9", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
  },
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "sv_x86_avx2",
          "type": "static_library",
          "sources": [
            "native/ec/ec_avx2.cc",
            "native/ec/ec_gfni256.cc",
            "native/blake3/blake3_avx2.cc",
          ],
          "cflags_cc": ["-mavx2", "-mgfni", "-mssse3", "-msse4.1"],
        },
        {
          "target_name": "sv_x86_avx512",
          "type": "static_library",
          "sources": [
            "native/ec/ec_avx512.cc",
            "native/ec/ec_gfni512.cc",
            "native/blake3/blake3_avx512.cc",
          ],
          # -Wno-maybe-uninitialized only here: GCC 12's own avx512fintrin.h seeds the pass-through operand of
          # unmasked intrinsics with _mm512_undefined_epi32() (deliberately uninitialized) and then warns about
          # it (~270 warnings, all inside the compiler's header, GCC bug 105593, fixed in GCC 13).
          "cflags_cc": ["-mavx2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mgfni", "-Wno-maybe-uninitialized"],
        },
        {
          "target_name": "sv_x86_sse41",
          "type": "static_library",
          "sources": [
            "native/blake3/blake3_sse41.cc",
            "native/blake3/blake3_compress_sse41.cc",
          ],
          "cflags_cc": ["-msse4.1", "-mssse3"],
        },
        {
          "target_name": "sv_x86_crc_pclmul",
          "type": "static_library",
          "sources": ["native/crc/crc_pclmul.cc"],
          "cflags_cc": ["-msse4.2", "-mpclmul"],
        },
        {
          # VPCLMULQDQ on ymm needs AVX2 only: no AVX-512 flag may reach this file.
          "target_name": "sv_x86_crc_vpclmul256",
          "type": "static_library",
          "sources": ["native/crc/crc_vpclmul256.cc"],
          "cflags_cc": ["-msse4.2", "-mpclmul", "-mavx2", "-mvpclmulqdq"],
        },
        {
          "target_name": "sv_x86_crc_vpclmul512",
          "type": "static_library",
          "sources": ["native/crc/crc_vpclmul512.cc"],
          "cflags_cc": ["-msse4.2", "-mpclmul", "-mavx2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mvpclmulqdq",
                        "-Wno-maybe-uninitialized"],
        },
      ],
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          # The CRC extension and PMULL (the crypto extension) are optional in ARMv8.0: only these files may use
          # them, each with only what its kernel needs, and the dispatcher offers a kernel only when getauxval
          # reports its features.
          "target_name": "sv_arm_crc",
          "type": "static_library",
          "sources": ["native/crc/crc_armcrc.cc"],
          "cflags_cc": ["-march=armv8-a+crc"],
        },
        {
          "target_name": "sv_arm_pmull",
          "type": "static_library",
          "sources": ["native/crc/crc_pmull.cc"],
          "cflags_cc": ["-march=armv8-a+crc+crypto"],
        },
      ],
    }],
  ],
  "targets": [
    {
      "target_name": "shardvault",
      "sources": [
        "native/napi/addon.cc",
        "native/common/cpu_features.cc",
        "native/common/kernel_select.cc",
        "native/ec/gf.cc",
        "native/ec/ec_scalar.cc",
        "native/ec/ec_neon.cc",
        "native/ec/ec_dispatch.cc",
        "native/ec/ec_codec.cc",
        "native/napi/napi_codec.cc",
        "native/blake3/blake3.cc",
        "native/blake3/blake3_portable.cc",
        "native/blake3/blake3_neon.cc",
        "native/blake3/blake3_dispatch.cc",
        "native/napi/napi_blake3.cc",
        "native/io/shard_io.cc",
        "native/napi/napi_io.cc",
        "native/napi/napi_stripe.cc",
        "native/crc/crc_table.cc",
        "native/crc/crc_dispatch.cc",
        "native/napi/napi_crc.cc",
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["sv_x86_avx2", "sv_x86_avx512", "sv_x86_sse41", "sv_x86_crc_pclmul", "sv_x86_crc_vpclmul256",
                           "sv_x86_crc_vpclmul512"],
        }],
        ["target_arch=='arm64'", {
          "dependencies": ["sv_arm_crc", "sv_arm_pmull"],
        }],
      ],
    },
  ],
}
