// Linux calls that Swift's Glibc module does not import (variadic or behind _GNU_SOURCE),
// wrapped as plain functions. Header-only: nothing to link beyond libc.
#ifndef NN_CLINUX_SHIM_H
#define NN_CLINUX_SHIM_H

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Swaps two existing paths in one step (renameat2 with RENAME_EXCHANGE, Linux 3.15+), so a
/// directory can be replaced without a moment in which neither version exists. Returns 0, or -1
/// with errno set (EINVAL or ENOSYS where the file system or kernel cannot do it).
static inline int nn_exchange_paths(const char *first, const char *second) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, first, AT_FDCWD, second, 2 /* RENAME_EXCHANGE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// A non-blocking, close-on-exec inotify descriptor, or -1 with errno (the flags are an enum that
/// Swift's Glibc module does not import).
static inline int nn_inotify_open(void) {
    return inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

/// Watches `folder` for what writing a file into it does: a write, a close after writing, a rename
/// into it (an atomic replace) or a new entry. Returns the watch descriptor, or -1 with errno.
static inline int nn_inotify_watch_writes(int descriptor, const char *folder) {
    return inotify_add_watch(descriptor, folder, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
}

/// prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process when the thread that
/// created it exits. prctl is variadic, which Swift does not import. Returns 0, or -1 with errno.
static inline int nn_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif

#endif
