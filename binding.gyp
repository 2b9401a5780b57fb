{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=off"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
  },
  "targets": [
    {
      "target_name": "hybridlm_simd_avx2",
      "type": "static_library",
      "sources": ["native/cpu/simd/isa_avx2.cpp"],
      "conditions": [["target_arch=='x64'", { "cflags_cc": ["-mavx2", "-mfma", "-mf16c"] }]]
    },
    {
      "target_name": "hybridlm_simd_avx512",
      "type": "static_library",
      "sources": ["native/cpu/simd/isa_avx512.cpp"],
      "conditions": [["target_arch=='x64'", {
        "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni",
                      "-Wno-uninitialized", "-Wno-maybe-uninitialized"]
      }]]
    },
    {
      "target_name": "hybridlm",
      "dependencies": ["hybridlm_simd_avx2", "hybridlm_simd_avx512"],
      "sources": [
        "<!@(node -e \"const fs=require('fs');for(const d of ['core','cpu','cuda','model','state','binding'])for(const f of fs.readdirSync('native/'+d).sort())if(f.endsWith('.cpp'))console.log('native/'+d+'/'+f)\")",
        "native/cpu/simd/isa_scalar.cpp",
        "native/cpu/simd/isa_neon.cpp"
      ],
      "conditions": [["OS=='linux'", {
        "libraries": ["-ldl"],
        "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL"]
      }]]
    }
  ]
}
