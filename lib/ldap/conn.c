/* Connecting, binding, error mapping and search helpers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ldap_priv.h"

#define PASSWORD_MAX 4096
#define PAGE_SIZE 500
#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_REQUEST_MS 30000

/* ---- errors ---------------------------------------------------------- */

static cpk_err_t map_code(int rc)
{
	switch (rc) {
	case LDAP_ALREADY_EXISTS:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		return CPK_ERR_EXISTS;
	case LDAP_NO_SUCH_OBJECT:
	case LDAP_NO_SUCH_ATTRIBUTE:
		return CPK_ERR_NOTFOUND;
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
	case LDAP_AUTH_METHOD_NOT_SUPPORTED:
		return CPK_ERR_PERM;
	case LDAP_INVALID_SYNTAX:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_NOT_ALLOWED_ON_RDN:
	case LDAP_NOT_ALLOWED_ON_NONLEAF:
	case LDAP_NAMING_VIOLATION:
	case LDAP_CONSTRAINT_VIOLATION:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_FILTER_ERROR:
	case LDAP_PARAM_ERROR:
		return CPK_ERR_INVALID;
	case LDAP_NO_MEMORY:
		return CPK_ERR_NOMEM;
	default:
		return CPK_ERR_IO;
	}
}

cpk_err_t cpk_ldap__nomem(void)
{
	return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
}

enum cpk_ldap_failure cpk_ldap__classify(int rc, int handshake,
					const char *diag)
{
	switch (rc) {
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return CPK_LDAP_TIMEOUT;
#ifdef LDAP_X_SERVER_UNKNOWN	/* OpenLDAP 2.7: the host does not resolve */
	case LDAP_X_SERVER_UNKNOWN:
		return CPK_LDAP_UNREACHABLE;
#endif
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
		if (!handshake)
			return CPK_LDAP_UNREACHABLE;
		/* libldap answers CONNECT_ERROR only once the connection
		 * (and for StartTLS the extended operation) is made: it is
		 * the handshake that failed */
		if (rc == LDAP_CONNECT_ERROR)
			return CPK_LDAP_TLS;
		/* an ldaps:// handshake that fails comes back as SERVER_DOWN,
		 * with the TLS library's message in whatever wording that
		 * library (GnuTLS, OpenSSL) has, or none (OpenSSL, when the
		 * peer speaks no TLS at all); what tells it from a refused
		 * connection or an unknown host is that the TCP connection
		 * was made */
		return handshake == 2 || (diag && *diag) ? CPK_LDAP_TLS
							 : CPK_LDAP_UNREACHABLE;
	default:
		return CPK_LDAP_ANSWER;
	}
}

const char *cpk_ldap__tls_detail(const char *diag)
{
	/* GnuTLS names libldap's own verification failure so */
	if (!diag || !*diag || !strcmp(diag, "(unknown error code)"))
		return NULL;
	return diag;
}

cpk_err_t cpk_ldap__err(struct cpk_ldap_conn *c, int rc, const char *fmt, ...)
{
	char what[512];
	char *diag = NULL;
	const char *uri = c && c->uri ? c->uri : "(no uri)";
	const char *detail;
	size_t n;
	va_list ap;
	cpk_err_t r = map_code(rc);

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c && c->ld)
		ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	switch (cpk_ldap__classify(rc, c && c->tls && !c->opened ? 1 + !!c->connected : 0,
				   diag)) {
	case CPK_LDAP_TLS:
		detail = cpk_ldap__tls_detail(diag);
		n = detail ? strlen(detail) : 0;
		if (n && detail[n - 1] == '.')
			n--;
		cpk_err_set(r, "TLS with the LDAP server %s failed (%s)%s%.*s; "
			    "check that the server speaks TLS there and that its "
			    "certificate is issued by a CA of ldap.ca_file (%s), "
			    "for the host in the URI, and has not expired",
			    uri, what, n ? ": " : "", (int)n, n ? detail : "",
			    c->ca_file ? c->ca_file : "unset: the system's CAs");
		break;
	case CPK_LDAP_UNREACHABLE:
		cpk_err_set(r, "cannot reach the LDAP server %s (%s): %s%s%s",
			    uri, what, ldap_err2string(rc),
			    diag && *diag ? ": " : "", diag && *diag ? diag : "");
		break;
	case CPK_LDAP_TIMEOUT:
		cpk_err_set(r, "the LDAP server %s did not answer in time (%s): %s",
			    uri, what, ldap_err2string(rc));
		break;
	case CPK_LDAP_ANSWER:
		cpk_err_set(r, "%s: %s: %s (LDAP error %d)%s%s", uri, what,
			    ldap_err2string(rc), rc, diag && *diag ? ": " : "",
			    diag && *diag ? diag : "");
		break;
	}
	ldap_memfree(diag);
	return r;
}

void cpk_ldap_test_fail_at(struct cpk_ldap_conn *c, int nth)
{
	c->fail_at = nth;
	c->writes = 0;
}

cpk_err_t cpk_ldap__write_hook(struct cpk_ldap_conn *c, const char *what)
{
	if (c->fail_at && ++c->writes == c->fail_at) {
		c->fail_at = 0;
		return cpk_err_set(CPK_ERR_IO, "%s: %s: injected failure (test)",
				   c->uri, what);
	}
	return CPK_OK;
}

/* ---- opening --------------------------------------------------------- */

/*
 * Reads the bind password from PATH into BUF (SIZE bytes, NUL-terminated)
 * after checking that nobody but the owner can read or change it.
 */
static cpk_err_t read_password(const char *path, char *buf, size_t size,
			       size_t *len)
{
	struct stat st;
	cpk_err_t r = CPK_OK;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return cpk_err_sys("cannot open the bind password file %s", path);
	if (fstat(fd, &st) < 0) {
		r = cpk_err_sys("cannot stat the bind password file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cpk_err_set(CPK_ERR_INVALID,
				"the bind password file %s is not a regular file",
				path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = cpk_err_set(CPK_ERR_PERM,
				"refusing the bind password file %s: it is "
				"accessible by group or others (mode %04o); "
				"run chmod 600 %s", path,
				(unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf + n, size - 1 - n);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = cpk_err_sys("cannot read the bind password file %s",
					path);
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == size - 1) {
			char extra;

			if (read(fd, &extra, 1) > 0) {
				r = cpk_err_set(CPK_ERR_INVALID,
						"the bind password file %s is "
						"longer than %zu bytes", path,
						size - 2);
				goto out;
			}
			break;
		}
	}
	/* ONE trailing newline is a line ending, not part of the password */
	if (n && buf[n - 1] == '\n') {
		n--;
		if (n && buf[n - 1] == '\r')
			n--;
	}
	buf[n] = '\0';
	if (n == 0) {
		r = cpk_err_set(CPK_ERR_INVALID,
				"the bind password file %s is empty (an empty "
				"password would be an unauthenticated bind)",
				path);
		goto out;
	}
	if (memchr(buf, '\0', n)) {
		r = cpk_err_set(CPK_ERR_INVALID,
				"the bind password file %s contains a NUL byte",
				path);
		goto out;
	}
	*len = n;
out:
	if (r != CPK_OK)
		cpk_memwipe(buf, size);
	close(fd);
	return r;
}

static cpk_err_t check_config(const struct cpk_ldap *cfg, int *tls)
{
	const char *t = cfg->tls ? cfg->tls : "none";

	if (!cfg->uri || !*cfg->uri)
		return cpk_err_set(CPK_ERR_CONFIG, "ldap.uri is not set");
	if (!cfg->base_dn || !*cfg->base_dn)
		return cpk_err_set(CPK_ERR_CONFIG, "ldap.base_dn is not set");
	if (!strcmp(t, "none"))
		*tls = 0;
	else if (!strcmp(t, "starttls"))
		*tls = 1;
	else if (!strcmp(t, "ldaps"))
		*tls = 2;
	else
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.tls is '%s': use none, starttls or ldaps",
				   t);
	if (*tls == 1 && strncasecmp(cfg->uri, "ldap://", 7))
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.tls is starttls but ldap.uri %s is not "
				   "an ldap:// URI", cfg->uri);
	if (*tls == 2 && strncasecmp(cfg->uri, "ldaps://", 8))
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.tls is ldaps but ldap.uri %s is not an "
				   "ldaps:// URI", cfg->uri);
	if (*tls == 0 && !strncasecmp(cfg->uri, "ldaps://", 8))
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.uri %s is an ldaps:// URI: set ldap.tls "
				   "to ldaps", cfg->uri);
	if (cfg->bind_dn && *cfg->bind_dn &&
	    (!cfg->bind_password_file || !*cfg->bind_password_file))
		return cpk_err_set(CPK_ERR_CONFIG,
				   "ldap.bind_dn is set but not "
				   "ldap.bind_password_file");
	return CPK_OK;
}

/* R (users.NAME) is a range of ids within 1-4294967294. */
static cpk_err_t check_range(const char *name, const struct cpk_range *r)
{
	if (r->lo == 0 || r->lo > r->hi || r->hi > 0xfffffffeULL)
		return cpk_err_set(CPK_ERR_CONFIG,
				   "users.%s %" PRIu64 "-%" PRIu64
				   " is not a range within 1-4294967294",
				   name, r->lo, r->hi);
	return CPK_OK;
}

static cpk_err_t copy_users(struct cpk_ldap_conn *c,
			    const struct cpk_users *u)
{
	cpk_err_t r;

	if (!u)
		return CPK_OK;
	if ((r = check_range("uid_range", &u->uid_range)) != CPK_OK ||
	    (r = check_range("gid_range", &u->gid_range)) != CPK_OK)
		return r;
	if (!u->home_root || u->home_root[0] != '/')
		return cpk_err_set(CPK_ERR_CONFIG,
				   "users.home_root must be an absolute path");
	if (!u->shell || u->shell[0] != '/')
		return cpk_err_set(CPK_ERR_CONFIG,
				   "users.shell must be an absolute path");
	c->uid_range = u->uid_range;
	c->gid_range = u->gid_range;
	c->shell = cpk_strdup(u->shell);
	c->home_root = cpk_strdup(u->home_root);
	if (u->default_group)
		c->default_group = cpk_strdup(u->default_group);
	if (!c->shell || !c->home_root ||
	    (u->default_group && !c->default_group))
		return cpk_ldap__nomem();
	/* "/home/" and "/home" give the same homes */
	while (strlen(c->home_root) > 1 &&
	       c->home_root[strlen(c->home_root) - 1] == '/')
		c->home_root[strlen(c->home_root) - 1] = '\0';
	c->have_users = 1;
	return CPK_OK;
}

static char *join_dn(const char *rdns, const char *base)
{
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_buf_addf(&b, "%s,%s", rdns, base);
	return cpk_buf_detach(&b, NULL);
}

static char *normalize_dn(const char *dn)
{
	char *n = NULL, *r;
	size_t i;

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &n,
			      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !n)
		return NULL;
	r = cpk_strdup(n);
	ldap_memfree(n);
	for (i = 0; r && r[i]; i++)
		r[i] = (char)tolower((unsigned char)r[i]);
	return r;
}

/* libldap's connection callbacks: lc_add runs once the TCP connection is
 * made, before any TLS handshake, so a failure after it is not "cannot
 * reach" (see cpk_ldap__classify). */
static int conncb_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv,
		      struct sockaddr *addr, struct ldap_conncb *ctx)
{
	struct cpk_ldap_conn *c = ctx->lc_arg;

	c->connected = 1;
	return 0;
}

static void conncb_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
}

static cpk_err_t set_options(struct cpk_ldap_conn *c,
			     const struct cpk_ldap *cfg, int tls,
			     unsigned timeout_ms)
{
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	unsigned connect_ms = timeout_ms ? timeout_ms : DEFAULT_CONNECT_MS;
	unsigned request_ms = timeout_ms ? timeout_ms : DEFAULT_REQUEST_MS;
	struct timeval ct = { connect_ms / 1000, (connect_ms % 1000) * 1000 };
	struct timeval rt = { request_ms / 1000, (request_ms % 1000) * 1000 };
	int rc;

	if ((rc = ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION,
				  &version)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(c->ld, LDAP_OPT_REFERRALS,
				  LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(c->ld, LDAP_OPT_RESTART,
				  LDAP_OPT_ON)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT,
				  &ct)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(c->ld, LDAP_OPT_TIMEOUT,
				  &rt)) != LDAP_OPT_SUCCESS)
		return cpk_ldap__err(c, rc, "setting connection options");
	c->conncb.lc_add = conncb_add;
	c->conncb.lc_del = conncb_del;
	c->conncb.lc_arg = c;
	if ((rc = ldap_set_option(c->ld, LDAP_OPT_CONNECT_CB,
				  &c->conncb)) != LDAP_OPT_SUCCESS)
		return cpk_ldap__err(c, rc, "setting the connection callback");
	if (!tls)
		return CPK_OK;
	if (cfg->ca_file && *cfg->ca_file) {
		int fd = open(cfg->ca_file, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return cpk_err_sys("cannot read ldap.ca_file %s",
					   cfg->ca_file);
		close(fd);
	}
	if ((rc = ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
				  &demand)) != LDAP_OPT_SUCCESS ||
	    (cfg->ca_file && *cfg->ca_file &&
	     (rc = ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE,
				   cfg->ca_file)) != LDAP_OPT_SUCCESS) ||
	    /* a context of our own, made after the options above */
	    (rc = ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX,
				  &zero)) != LDAP_OPT_SUCCESS)
		return cpk_ldap__err(c, rc, "setting up TLS (ldap.ca_file %s)",
				     cfg->ca_file ? cfg->ca_file : "unset");
	return CPK_OK;
}

static cpk_err_t do_bind(struct cpk_ldap_conn *c, const struct cpk_ldap *cfg)
{
	char *pw = NULL;
	size_t len = 0;
	struct berval cred;
	cpk_err_t r = CPK_OK;
	int rc;

	if (cfg->bind_dn && *cfg->bind_dn) {
		pw = malloc(PASSWORD_MAX + 2);
		if (!pw)
			return cpk_ldap__nomem();
		r = read_password(cfg->bind_password_file, pw,
				  PASSWORD_MAX + 2, &len);
		if (r != CPK_OK)
			goto out;
		cred.bv_val = pw;
		cred.bv_len = len;
		rc = ldap_sasl_bind_s(c->ld, cfg->bind_dn, LDAP_SASL_SIMPLE,
				      &cred, NULL, NULL, NULL);
		if (rc == LDAP_INVALID_CREDENTIALS) {
			r = cpk_err_set(CPK_ERR_PERM,
					"%s: cannot bind as %s: invalid credentials "
					"(wrong password in %s, or no such DN)",
					c->uri, cfg->bind_dn,
					cfg->bind_password_file);
			goto out;
		}
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "binding as %s", cfg->bind_dn);
			goto out;
		}
	} else if (!strncasecmp(c->uri, "ldapi://", 8)) {
		static char empty[1];

		/* an empty initial response: "authorize as who I am" */
		cred.bv_val = empty;
		cred.bv_len = 0;
		rc = ldap_sasl_bind_s(c->ld, NULL, "EXTERNAL", &cred, NULL,
				      NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "SASL EXTERNAL bind");
			goto out;
		}
	} else {
		/* anonymous: make the connection now so a down server is
		 * reported by open, not by the first request */
		rc = ldap_sasl_bind_s(c->ld, NULL, LDAP_SASL_SIMPLE, NULL,
				      NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "anonymous bind");
			goto out;
		}
	}
out:
	if (pw) {
		cpk_memwipe(pw, PASSWORD_MAX + 2);
		free(pw);
	}
	return r;
}

cpk_err_t cpk_ldap_open(const struct cpk_ldap *cfg,
			const struct cpk_users *users, unsigned timeout_ms,
			struct cpk_ldap_conn **out)
{
	struct cpk_ldap_conn *c = NULL;
	cpk_err_t r;
	int tls = 0, rc;

	*out = NULL;
	if (!cfg)
		return cpk_err_set(CPK_ERR_CONFIG, "no ldap section");
	if ((r = check_config(cfg, &tls)) != CPK_OK)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return cpk_ldap__nomem();
	c->lpk = -1;
	c->tls = tls;
	c->seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	c->uri = cpk_strdup(cfg->uri);
	c->base = cpk_strdup(cfg->base_dn);
	c->people_ou = cpk_strdup(cfg->people_ou ? cfg->people_ou : "ou=People");
	c->groups_ou = cpk_strdup(cfg->groups_ou ? cfg->groups_ou : "ou=Groups");
	if (!c->uri || !c->base || !c->people_ou || !c->groups_ou) {
		r = cpk_ldap__nomem();
		goto out;
	}
	c->people = join_dn(c->people_ou, c->base);
	c->groups = join_dn(c->groups_ou, c->base);
	c->pool = join_dn("cn=idpool", c->base);
	if (!c->people || !c->groups || !c->pool) {
		r = cpk_ldap__nomem();
		goto out;
	}
	c->pool_norm = normalize_dn(c->pool);
	if (!c->pool_norm) {
		r = cpk_err_set(CPK_ERR_CONFIG,
				"ldap.base_dn '%s' is not a valid DN", c->base);
		goto out;
	}
	if (cfg->ca_file && *cfg->ca_file &&
	    !(c->ca_file = cpk_strdup(cfg->ca_file))) {
		r = cpk_ldap__nomem();
		goto out;
	}
	if ((r = copy_users(c, users)) != CPK_OK)
		goto out;
	rc = ldap_initialize(&c->ld, c->uri);
	if (rc != LDAP_SUCCESS) {
		r = cpk_err_set(CPK_ERR_CONFIG, "ldap.uri '%s' is not usable: %s",
				c->uri, ldap_err2string(rc));
		goto out;
	}
	if ((r = set_options(c, cfg, tls, timeout_ms)) != CPK_OK)
		goto out;
	if (tls == 1) {
		rc = ldap_start_tls_s(c->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "StartTLS");
			goto out;
		}
	}
	if ((r = do_bind(c, cfg)) != CPK_OK)
		goto out;
	c->opened = 1;
	*out = c;
	c = NULL;
out:
	cpk_ldap_close(c);
	return r;
}

void cpk_ldap_close(struct cpk_ldap_conn *c)
{
	if (!c)
		return;
	if (c->ld)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c->uri);
	free(c->ca_file);
	free(c->base);
	free(c->people);
	free(c->groups);
	free(c->pool);
	free(c->pool_norm);
	free(c->people_ou);
	free(c->groups_ou);
	free(c->shell);
	free(c->home_root);
	free(c->default_group);
	free(c);
}

const char *cpk_ldap_base_dn(const struct cpk_ldap_conn *c)
{
	return c->base;
}

const char *cpk_ldap_people_dn(const struct cpk_ldap_conn *c)
{
	return c->people;
}

const char *cpk_ldap_groups_dn(const struct cpk_ldap_conn *c)
{
	return c->groups;
}

const char *cpk_ldap_pool_dn(const struct cpk_ldap_conn *c)
{
	return c->pool;
}

/* ---- searching ------------------------------------------------------- */

cpk_err_t cpk_ldap__search(struct cpk_ldap_conn *c, const char *base,
			   int scope, const char *filter, char **attrs,
			   int sizelimit, LDAPMessage **res)
{
	int rc;

	*res = NULL;
	rc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL,
			       NULL, NULL, sizelimit ? sizelimit : LDAP_NO_LIMIT,
			       res);
	if (rc == LDAP_SUCCESS ||
	    (rc == LDAP_SIZELIMIT_EXCEEDED && sizelimit))
		return CPK_OK;
	return cpk_ldap__err(c, rc, "searching %s for %s", base, filter);
}

/* Tells the server to drop the state of a paged search we stop early. */
static void abandon_paged(struct cpk_ldap_conn *c, const char *base,
			  const char *filter, struct berval *cookie)
{
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL };
	LDAPMessage *res = NULL;
	char *noattrs[] = { LDAP_NO_ATTRS, NULL };

	if (ldap_create_page_control(c->ld, 0, cookie, 0, &ctrl) != LDAP_SUCCESS)
		return;
	ctrls[0] = ctrl;
	(void)ldap_search_ext_s(c->ld, base, LDAP_SCOPE_SUBTREE, filter,
				noattrs, 0, ctrls, NULL, NULL, LDAP_NO_LIMIT,
				&res);
	ldap_msgfree(res);
	ldap_control_free(ctrl);
}

cpk_err_t cpk_ldap__paged(struct cpk_ldap_conn *c, const char *base,
			  const char *filter, char **attrs,
			  cpk_ldap_entry_fn fn, void *arg)
{
	struct berval *cookie = NULL;
	LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL };
	LDAPControl **rctrls = NULL;
	LDAPMessage *res = NULL, *e;
	cpk_err_t r = CPK_OK;
	int rc, stop = 0;

	for (;;) {
		struct berval next = { 0, NULL };
		LDAPControl *pr;
		ber_int_t estimate;
		int err = LDAP_SUCCESS;

		rc = ldap_create_page_control(c->ld, PAGE_SIZE, cookie, 0, &page);
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "making a paged results control");
			goto out;
		}
		ctrls[0] = page;
		rc = ldap_search_ext_s(c->ld, base, LDAP_SCOPE_SUBTREE, filter,
				       attrs, 0, ctrls, NULL, NULL,
				       LDAP_NO_LIMIT, &res);
		ldap_control_free(page);
		page = NULL;
		if (rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_ADMINLIMIT_EXCEEDED) {
			r = cpk_ldap__err(c, rc, "searching %s for %s (paged): the "
					  "server limits how many entries this "
					  "bind DN may read in total; raise it "
					  "(slapd: limits ... size.prtotal="
					  "unlimited)", base, filter);
			goto out;
		}
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "searching %s for %s", base,
					  filter);
			goto out;
		}
		for (e = ldap_first_entry(c->ld, res); e && !stop;
		     e = ldap_next_entry(c->ld, e)) {
			if ((r = fn(c, e, arg, &stop)) != CPK_OK)
				goto out;
		}
		rc = ldap_parse_result(c->ld, res, &err, NULL, NULL, NULL,
				       &rctrls, 0);
		ldap_msgfree(res);
		res = NULL;
		if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc != LDAP_SUCCESS ? rc : err,
					  "searching %s for %s", base, filter);
			goto out;
		}
		pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
		if (!pr)
			break;	/* the server ignored paging: that was all */
		rc = ldap_parse_pageresponse_control(c->ld, pr, &estimate, &next);
		ldap_controls_free(rctrls);
		rctrls = NULL;
		if (rc != LDAP_SUCCESS) {
			r = cpk_ldap__err(c, rc, "reading the paged results control");
			goto out;
		}
		ber_bvfree(cookie);
		cookie = NULL;
		if (!next.bv_len) {
			ber_memfree(next.bv_val);
			break;
		}
		cookie = ber_bvdup(&next);
		ber_memfree(next.bv_val);
		if (!cookie) {
			r = cpk_ldap__nomem();
			goto out;
		}
		if (stop)
			break;
	}
out:
	if (cookie && (stop || r != CPK_OK) && r != CPK_ERR_IO)
		abandon_paged(c, base, filter, cookie);
	ber_bvfree(cookie);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	return r;
}

/* ---- reading entries ------------------------------------------------- */

char *cpk_ldap__str(struct cpk_ldap_conn *c, LDAPMessage *e,
		    const char *attr, cpk_err_t *err)
{
	struct berval **v = ldap_get_values_len(c->ld, e, attr);
	char *s = NULL;

	if (!v)
		return NULL;
	if (v[0]) {
		s = cpk_strndup(v[0]->bv_val, v[0]->bv_len);
		if (!s)
			*err = cpk_ldap__nomem();
	}
	ldap_value_free_len(v);
	return s;
}

void cpk_ldap__strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

cpk_err_t cpk_ldap__strs(struct cpk_ldap_conn *c, LDAPMessage *e,
			 const char *attr, char ***out, size_t *nout)
{
	struct berval **v = ldap_get_values_len(c->ld, e, attr);
	char **a = NULL;
	size_t n = 0, i;
	cpk_err_t r = CPK_OK;

	*out = NULL;
	*nout = 0;
	if (!v)
		return CPK_OK;
	n = (size_t)ldap_count_values_len(v);
	a = cpk_reallocarray(NULL, n ? n : 1, sizeof(*a));
	if (!a) {
		r = cpk_ldap__nomem();
		goto out;
	}
	for (i = 0; i < n; i++) {
		a[i] = cpk_strndup(v[i]->bv_val, v[i]->bv_len);
		if (!a[i]) {
			cpk_ldap__strs_free(a, i);
			a = NULL;
			r = cpk_ldap__nomem();
			goto out;
		}
	}
	*out = a;
	*nout = n;
out:
	ldap_value_free_len(v);
	return r;
}

cpk_err_t cpk_ldap__u64(struct cpk_ldap_conn *c, LDAPMessage *e,
			const char *attr, uint64_t *out)
{
	struct berval **v = ldap_get_values_len(c->ld, e, attr);
	char tmp[32], *end;
	cpk_err_t r = CPK_OK;
	unsigned long long n;

	if (!v || !v[0]) {
		r = cpk_err_set(CPK_ERR_NOTFOUND, "%s: entry has no %s", c->uri,
				attr);
		goto out;
	}
	if (v[0]->bv_len == 0 || v[0]->bv_len >= sizeof(tmp)) {
		r = cpk_err_set(CPK_ERR_INVALID, "%s: bad %s value", c->uri, attr);
		goto out;
	}
	memcpy(tmp, v[0]->bv_val, v[0]->bv_len);
	tmp[v[0]->bv_len] = '\0';
	errno = 0;
	n = strtoull(tmp, &end, 10);
	if (errno || *end || tmp[0] == '-' || tmp[0] == '+') {
		r = cpk_err_set(CPK_ERR_INVALID, "%s: %s value '%s' is not a "
				"non-negative number", c->uri, attr, tmp);
		goto out;
	}
	*out = n;
out:
	if (v)
		ldap_value_free_len(v);
	return r;
}

char *cpk_ldap__dn(struct cpk_ldap_conn *c, LDAPMessage *e)
{
	char *dn = ldap_get_dn(c->ld, e), *r;

	if (!dn)
		return NULL;
	r = cpk_strdup(dn);
	ldap_memfree(dn);
	return r;
}

char *cpk_ldap__filter(const char *fmt, ...)
{
	struct cpk_buf b = CPK_BUF_INIT;
	va_list ap;
	const char *p;

	va_start(ap, fmt);
	for (p = fmt; *p; p++) {
		if (*p != '%') {
			cpk_buf_addch(&b, *p);
		} else if (p[1] == 's') {
			const char *s = va_arg(ap, const char *);

			cpk_ldap_escape_filter(s, strlen(s), &b);
			p++;
		} else if (!strncmp(p, "%llu", 4)) {
			cpk_buf_addf(&b, "%llu", va_arg(ap, unsigned long long));
			p += 3;
		} else {
			cpk_buf_addch(&b, *p);
		}
	}
	va_end(ap);
	return cpk_buf_detach(&b, NULL);
}

char *cpk_ldap__child_dn(const char *rdn_attr, const char *value,
			 const char *parent)
{
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_buf_addf(&b, "%s=", rdn_attr);
	cpk_ldap_escape_dn(value, strlen(value), &b);
	cpk_buf_addf(&b, ",%s", parent);
	return cpk_buf_detach(&b, NULL);
}

/* ---- modifications --------------------------------------------------- */

void cpk_modlist_add(struct cpk_modlist *ml, int op, const char *attr,
		     const char *value, size_t len)
{
	LDAPMod *m = ml->n ? ml->mods[ml->n - 1] : NULL;
	struct berval *bv = NULL, **vals;
	size_t nv = 0;

	if (ml->failed)
		return;
	if (!m || m->mod_op != (op | LDAP_MOD_BVALUES) ||
	    strcmp(m->mod_type, attr) || !value || !m->mod_bvalues) {
		LDAPMod **mods = cpk_reallocarray(ml->mods, ml->n + 2,
						  sizeof(*mods));

		if (!mods)
			goto fail;
		ml->mods = mods;
		m = calloc(1, sizeof(*m));
		if (!m)
			goto fail;
		m->mod_op = op | LDAP_MOD_BVALUES;
		m->mod_type = cpk_strdup(attr);
		if (!m->mod_type) {
			free(m);
			goto fail;
		}
		ml->mods[ml->n++] = m;
		ml->mods[ml->n] = NULL;
	}
	if (!value)
		return;
	while (m->mod_bvalues && m->mod_bvalues[nv])
		nv++;
	vals = cpk_reallocarray(m->mod_bvalues, nv + 2, sizeof(*vals));
	if (!vals)
		goto fail;
	m->mod_bvalues = vals;
	vals[nv] = NULL;
	bv = calloc(1, sizeof(*bv));
	if (!bv)
		goto fail;
	bv->bv_val = malloc(len + 1);
	if (!bv->bv_val) {
		free(bv);
		goto fail;
	}
	memcpy(bv->bv_val, value, len);
	bv->bv_val[len] = '\0';
	bv->bv_len = len;
	vals[nv] = bv;
	vals[nv + 1] = NULL;
	return;
fail:
	ml->failed = 1;
}

void cpk_modlist_adds(struct cpk_modlist *ml, int op, const char *attr,
		      const char *value)
{
	cpk_modlist_add(ml, op, attr, value, value ? strlen(value) : 0);
}

void cpk_modlist_release(struct cpk_modlist *ml)
{
	size_t i, j;

	for (i = 0; i < ml->n; i++) {
		LDAPMod *m = ml->mods[i];

		for (j = 0; m->mod_bvalues && m->mod_bvalues[j]; j++) {
			cpk_memwipe(m->mod_bvalues[j]->bv_val,
				    m->mod_bvalues[j]->bv_len);
			free(m->mod_bvalues[j]->bv_val);
			free(m->mod_bvalues[j]);
		}
		free(m->mod_bvalues);
		free(m->mod_type);
		free(m);
	}
	free(ml->mods);
	ml->mods = NULL;
	ml->n = 0;
	ml->failed = 0;
}

/* ---- schema ---------------------------------------------------------- */

static int has_lpk_class(struct berval **v)
{
	size_t i, j;
	static const char want[] = "'ldapPublicKey'";

	for (i = 0; v && v[i]; i++) {
		if (v[i]->bv_len < sizeof(want) - 1)
			continue;
		for (j = 0; j + sizeof(want) - 1 <= v[i]->bv_len; j++)
			if (!strncasecmp(v[i]->bv_val + j, want,
					 sizeof(want) - 1))
				return 1;
	}
	return 0;
}

cpk_err_t cpk_ldap_has_ssh_keys(struct cpk_ldap_conn *c, int *has)
{
	char *dse_attrs[] = { "subschemaSubentry", NULL };
	char *oc_attrs[] = { "objectClasses", NULL };
	LDAPMessage *res = NULL, *e;
	char *sub = NULL;
	cpk_err_t r = CPK_OK;
	struct berval **v = NULL;

	if (c->lpk >= 0) {
		*has = c->lpk;
		return CPK_OK;
	}
	r = cpk_ldap__search(c, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			     dse_attrs, 0, &res);
	if (r != CPK_OK)
		goto out;
	e = ldap_first_entry(c->ld, res);
	if (e)
		sub = cpk_ldap__str(c, e, "subschemaSubentry", &r);
	if (r != CPK_OK)
		goto out;
	ldap_msgfree(res);
	r = cpk_ldap__search(c, sub ? sub : "cn=Subschema", LDAP_SCOPE_BASE,
			     "(objectClass=subschema)", oc_attrs, 0, &res);
	if (r != CPK_OK)
		goto out;
	e = ldap_first_entry(c->ld, res);
	if (e)
		v = ldap_get_values_len(c->ld, e, "objectClasses");
	c->lpk = has_lpk_class(v);
	*has = c->lpk;
out:
	if (v)
		ldap_value_free_len(v);
	ldap_msgfree(res);
	free(sub);
	return r;
}
