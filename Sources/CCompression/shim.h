// The compressors that kernel modules (.ko.gz, .ko.xz, .ko.zst) and kernel images
// (bzImage payloads: gzip, xz, lzma, zstd, lz4, bzip2) use.
// Debian: zlib1g-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev.
#include <zlib.h>
#include <lzma.h>
#include <zstd.h>
#include <lz4.h>
#include <bzlib.h>
