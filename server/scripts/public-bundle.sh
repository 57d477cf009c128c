#!/usr/bin/env bash
# Builds each public page's own browser bundle (crate frontend-public, once per page: the payment
# link, the portal and the hotspot page, each without the operator app) into
# target/site/pkg/jasiyo_{pay,portal,hotspot}.{js,wasm} beside the one cargo-leptos builds. Run
# after `cargo leptos build` (debug), or with `release` after `cargo leptos build --release`.
#
# cargo-leptos builds one library per project; a second project would build the server a second
# time with another LEPTOS_OUTPUT_NAME baked in. So this is the same three steps by hand, in
# cargo-leptos's target directory with the same flags and LEPTOS_OUTPUT_NAME as its own build,
# so the `app` crate compiled for the browser is shared and only this small crate and its links
# are extra: cargo build, wasm-bindgen, and for release wasm-opt -Oz plus gzip and brotli copies
# (leptos_axum serves them with content-encoding).
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\033[1m[public-bundle]\033[0m %s\n' "$*" >&2; }

mode=${1:-debug}
out=target/site/pkg
case "$mode" in
    debug) profile=debug; args=() ;;
    release) profile=wasm-release; args=(--profile wasm-release) ;;
    *) say "usage: $0 [debug|release]"; exit 2 ;;
esac

# Each page's bundle: the crate's feature and the file name (app::bundle::SURFACES).
for surface in pay:jasiyo_pay portal:jasiyo_portal hotspot:jasiyo_hotspot; do
    feature=${surface%%:*}
    name=${surface#*:}
    features=()
    [ "$feature" = portal ] || features=(--features "$feature")
    say "building $name ($mode)"
    # LEPTOS_OUTPUT_NAME as cargo-leptos sets it for the main bundle: leptos reads it at compile
    # time, so any other value would rebuild leptos and the app for the browser each time.
    LEPTOS_OUTPUT_NAME=jasiyo cargo build --package=frontend-public --lib \
        --target-dir=target/front --target=wasm32-unknown-unknown --no-default-features \
        "${features[@]}" "${args[@]}"
    wasm=target/front/wasm32-unknown-unknown/$profile/frontend_public.wasm
    mkdir -p "$out"
    wasm-bindgen "$wasm" --target web --no-typescript --out-dir "$out" --out-name "$name"
    mv "$out/${name}_bg.wasm" "$out/$name.wasm"
    if [ "$mode" = release ]; then
        # binaryen 116 from end2end/node_modules (Debian's 108 breaks hydration; see TOOLCHAIN),
        # with the flags cargo-leptos passes for the main bundle.
        wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
            "$out/$name.wasm" -o "$out/$name.wasm"
        for f in "$out/$name.wasm" "$out/$name.js"; do
            gzip -9 -k -f "$f"
            node -e 'const z = require("zlib"), fs = require("fs"); const f = process.argv[1];
                fs.writeFileSync(f + ".br", z.brotliCompressSync(fs.readFileSync(f),
                    { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }));' "$f"
        done
    else
        rm -f "$out/$name.wasm.gz" "$out/$name.wasm.br" "$out/$name.js.gz" "$out/$name.js.br"
    fi
    say "$(stat -c %s "$out/$name.wasm") bytes of wasm in $out/$name.wasm"
done
rm -f "$out"/jasiyo_public.*
