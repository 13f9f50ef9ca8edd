#ifndef KK_SHIM_SHIM_LINUX_SLAB_H
#define KK_SHIM_SHIM_LINUX_SLAB_H
#include <stdlib.h>
#include <linux/types.h>
#define GFP_KERNEL 0
static inline void *kmalloc(size_t n, int flags) { (void)flags; return malloc(n); }
static inline void kfree_sensitive(const void *p) { free((void *)p); }
static inline void kfree(const void *p) { free((void *)p); }
/* include/linux/cleanup.h's scope-based freeing, for `__free(kfree_sensitive)`. */
static inline void __free_kfree_sensitive(void *pp) { kfree_sensitive(*(void **)pp); }
#define __free(name) __attribute__((__cleanup__(__free_##name)))
#endif
