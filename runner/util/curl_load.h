/*
 * curl_load: libcurl, opened on first use.
 *
 * Linked into the binary, libcurl and the thirty libraries under it
 * (OpenSSL, LDAP, Kerberos, libssh2, libidn2, ...) cost every command about
 * 15 ms of CPU in the dynamic loader before main(), though most commands
 * never speak HTTP. So nothing links libcurl: eg_curl_load() dlopen()s
 * libcurl.so.4 the first time something needs it, looks up the functions
 * below and runs curl_global_init() once.
 *
 * Include this header instead of <curl/curl.h>. The types and constants are
 * libcurl's; the functions are macros calling through the table eg_curl, so
 * a call site reads as a libcurl call. Rules:
 *   - a function of the table is called only after eg_curl_load() returned 0
 *     in this process (curl_global_init() calls it: it returns
 *     CURLE_FAILED_INIT, after the error is printed, when libcurl cannot be
 *     loaded);
 *   - curl_slist_append() and curl_slist_free_all() are evalgate's own and
 *     work without libcurl (header lists are built before a transfer is
 *     known to need it); libcurl only reads the lists it is given;
 *   - curl_global_cleanup() does nothing: libcurl stays initialised until
 *     the process exits.
 * A function evalgate starts to call is added to EG_CURL_API.
 *
 * Ownership: the library handle is never closed.
 */
#ifndef EG_CURL_LOAD_H
#define EG_CURL_LOAD_H

#include <curl/curl.h>
#include <time.h>

#define EG_CURL_SONAME "libcurl.so.4"

/* the functions taken from libcurl: X(name without its curl_ prefix) */
#define EG_CURL_API(X)                                                            \
	X(easy_cleanup) X(easy_escape) X(easy_getinfo) X(easy_init) X(easy_perform)   \
	X(easy_reset) X(easy_setopt) X(easy_strerror) X(free)                         \
	X(multi_add_handle) X(multi_cleanup) X(multi_info_read) X(multi_init)         \
	X(multi_remove_handle) X(multi_setopt) X(multi_socket_action)

/* pointers of exactly libcurl's prototypes, so the calls keep their checks */
struct eg_curl_api {
#define EG_CURL_MEMBER_(name) __typeof__(curl_##name) *name;
	EG_CURL_API(EG_CURL_MEMBER_)
#undef EG_CURL_MEMBER_
};

/* filled by the first successful eg_curl_load(), never changed after */
extern struct eg_curl_api eg_curl;

/*
 * Load libcurl and initialise it, once per process; later calls return the
 * first one's result at the cost of a pthread_once(). 0, or -1 after
 * error() says "cannot load libcurl (libcurl.so.4): WHY; install libcurl4"
 * (every failing call says it again). Thread-safe.
 */
int eg_curl_load(void);

/* what the macros below name instead of libcurl's (see the rules above) */
CURLcode eg_curl_global_init(long flags);
void eg_curl_global_cleanup(void);
struct curl_slist *eg_curl_slist_append(struct curl_slist *list, const char *s);
void eg_curl_slist_free_all(struct curl_slist *list);

/*
 * EG_CURL_TYPECHECK: libcurl's own declarations and its compile-time check
 * of curl_easy_setopt() and curl_easy_getinfo() arguments
 * (curl/typecheck-gcc.h), which sees only direct calls. The build compiles
 * the files that call libcurl once more this way, not linked
 * (CMakeLists.txt, eg_curl_typecheck).
 */
#ifndef EG_CURL_TYPECHECK
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_cleanup (eg_curl.easy_cleanup)
#define curl_easy_escape (eg_curl.easy_escape)
#define curl_easy_getinfo (eg_curl.easy_getinfo)
#define curl_easy_init (eg_curl.easy_init)
#define curl_easy_perform (eg_curl.easy_perform)
#define curl_easy_reset (eg_curl.easy_reset)
#define curl_easy_setopt (eg_curl.easy_setopt)
#define curl_easy_strerror (eg_curl.easy_strerror)
#define curl_free (eg_curl.free)
#define curl_multi_add_handle (eg_curl.multi_add_handle)
#define curl_multi_cleanup (eg_curl.multi_cleanup)
#define curl_multi_info_read (eg_curl.multi_info_read)
#define curl_multi_init (eg_curl.multi_init)
#define curl_multi_remove_handle (eg_curl.multi_remove_handle)
#define curl_multi_setopt (eg_curl.multi_setopt)
#define curl_multi_socket_action (eg_curl.multi_socket_action)
#define curl_global_init eg_curl_global_init
#define curl_global_cleanup eg_curl_global_cleanup
#define curl_slist_append eg_curl_slist_append
#define curl_slist_free_all eg_curl_slist_free_all
#endif

#endif
