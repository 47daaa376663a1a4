/*
 * Connecting to the LDAP server: the bind password file, the settings,
 * StartTLS and ldaps, and servers that are down, silent or without TLS.
 * Run by t2000-ldap.sh against a slapd of the rig (see ldap_fixture.h):
 *   ldap_conn bind       binds and TLS on a server started with --tls
 *   ldap_conn noca       TLS without the CA fails (run with
 *                        LDAPTLS_REQCERT=never), and is told apart from an
 *                        unreachable server
 *   ldap_conn down URI   a server that is not running
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ldap_fixture.h"
#include "tap.h"

static int run_bind(void)
{
	struct cpk_ldap l;
	struct cpk_ldap_conn *c;
	cpk_err_t r;
	const char *pw;
	double t0;

	c = ldapt_open(&ldapt_cfg, &r);
	ok(r == CPK_OK && c, "bind as rootdn, password file with one trailing "
	   "newline (%s)", ldapt_why(r));
	cpk_ldap_close(c);

	pw = ldapt_read_all(ldapt_env("SLAPD_ROOTPW_FILE"));
	l = ldapt_cfg;
	l.bind_password_file = ldapt_put_file("pw0640", pw, strlen(pw), 0640);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_PERM && !c && ldapt_has_msg("chmod 600") &&
	   ldapt_has_msg("0640"), "group-readable password file refused: %s",
	   cpk_errmsg());
	l.bind_password_file = ldapt_put_file("pw0604", pw, strlen(pw), 0604);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "world-readable password file refused: %s",
	   cpk_errmsg());
	l.bind_password_file = ldapt_put_file("pw0620", pw, strlen(pw), 0620);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "group-writable password file refused");
	l.bind_password_file = ldapt_put_file("pw0400", pw, strlen(pw), 0400);
	c = ldapt_open(&l, &r);
	ok(r == CPK_OK && c, "mode 0400 password file accepted");
	cpk_ldap_close(c);
	free((char *)pw);

	l.bind_password_file = ldapt_put_file("pwbad", "wrong\n", 6, 0600);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_PERM && !c && ldapt_has_msg("invalid credentials") &&
	   ldapt_has_msg(l.bind_password_file) && ldapt_has_msg(ldapt_cfg.uri),
	   "wrong password: clear message: %s", cpk_errmsg());
	pw = ldapt_read_all(ldapt_env("SLAPD_ROOTPW_FILE"));
	{
		char two[256];

		snprintf(two, sizeof(two), "%s\n\n", pw);
		l.bind_password_file = ldapt_put_file("pw2nl", two, strlen(two),
						       0600);
	}
	free((char *)pw);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_PERM && !c, "only ONE trailing newline is stripped");
	l.bind_password_file = ldapt_put_file("pwempty", "\n", 1, 0600);
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_INVALID && ldapt_has_msg("empty"),
	   "empty password refused: %s", cpk_errmsg());
	l.bind_password_file = "/nonexistent/pw";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("/nonexistent/pw"),
	   "missing password file: %s", cpk_errmsg());
	l.bind_password_file = NULL;
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("bind_password_file"),
	   "bind_dn without a password file: %s", cpk_errmsg());

	l = ldapt_cfg;
	l.tls = "sometimes";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("none, starttls or ldaps"),
	   "bad tls value: %s", cpk_errmsg());
	l.tls = "ldaps";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("not an ldaps://"),
	   "tls ldaps with an ldap:// uri: %s", cpk_errmsg());
	l = ldapt_cfg;
	l.uri = "http://127.0.0.1/";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_CONFIG && ldapt_has_msg("http://"),
	   "not an LDAP URI: %s", cpk_errmsg());

	/* TLS */
	l = ldapt_cfg;
	l.tls = "starttls";
	l.ca_file = (char *)ldapt_env("SLAPD_CA_FILE");
	c = ldapt_open(&l, &r);
	ok(r == CPK_OK && c, "StartTLS with the test CA (%s)", ldapt_why(r));
	cpk_ldap_close(c);
	l.ca_file = NULL;
	c = ldapt_open(&l, &r);
	ok(r != CPK_OK && !c && ldapt_has_msg("StartTLS") &&
	   ldapt_has_msg(ldapt_cfg.uri),
	   "StartTLS without the CA is refused: %s", cpk_errmsg());
	l.ca_file = "/nonexistent/ca.pem";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_NOTFOUND && ldapt_has_msg("ca_file"),
	   "missing CA file: %s", cpk_errmsg());
	l = ldapt_cfg;
	l.uri = (char *)ldapt_env("SLAPD_LDAPS_URI");
	l.tls = "ldaps";
	l.ca_file = (char *)ldapt_env("SLAPD_CA_FILE");
	c = ldapt_open(&l, &r);
	ok(r == CPK_OK && c, "ldaps with the test CA (%s)", ldapt_why(r));
	cpk_ldap_close(c);
	l.ca_file = NULL;
	c = ldapt_open(&l, &r);
	ok(r != CPK_OK && !c, "ldaps without the CA is refused: %s",
	   cpk_errmsg());

	/* a server that accepts the connection but never answers */
	{
		struct sockaddr_in sa = { 0 };
		socklen_t sl = sizeof(sa);
		char uri[64];
		int s = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(s, 8) || getsockname(s, (struct sockaddr *)&sa, &sl)) {
			ok(0, "silent server: cannot listen");
		} else {
			snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%u/",
				 ntohs(sa.sin_port));
			l = ldapt_cfg;
			l.uri = uri;
			t0 = ldapt_now();
			r = cpk_ldap_open(&l, &ldapt_users, 1000, &c);
			ok(r == CPK_ERR_IO && !c && ldapt_has_msg(uri) &&
			   ldapt_has_msg("did not answer") &&
			   ldapt_now() - t0 < 5,
			   "silent server: CPK_ERR_IO in %.1f s: %s",
			   ldapt_now() - t0, cpk_errmsg());
		}
		if (s >= 0)
			close(s);
	}
	return 0;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The failure is reported as TLS's (not as an unreachable server), names
 * the URI and says where the CA comes from, whatever the TLS library. */
static int tls_msg(const char *uri)
{
	return ldapt_has_msg("TLS with the LDAP server") &&
	       ldapt_has_msg(uri) && ldapt_has_msg("ldap.ca_file") &&
	       !ldapt_has_msg("cannot reach");
}

static int run_noca(void)
{
	struct cpk_ldap l = ldapt_cfg;
	struct cpk_ldap_conn *c;
	char uri[64];
	cpk_err_t r;
	int port;

	l.uri = (char *)ldapt_env("SLAPD_LDAPS_URI");
	l.tls = "ldaps";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(l.uri),
	   "ldaps without the CA fails even with LDAPTLS_REQCERT=%s: %s",
	   getenv("LDAPTLS_REQCERT") ? getenv("LDAPTLS_REQCERT") : "(unset)",
	   cpk_errmsg());
	cpk_ldap_close(c);
	l = ldapt_cfg;
	l.tls = "starttls";
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(l.uri) && ldapt_has_msg("StartTLS"),
	   "and so does StartTLS: %s", cpk_errmsg());
	cpk_ldap_close(c);

	/* ldaps:// to the plain LDAP port: the handshake fails, with the CA */
	snprintf(uri, sizeof(uri), "ldaps://%s",
		 ldapt_cfg.uri + strlen("ldap://"));
	l = ldapt_cfg;
	l.uri = uri;
	l.tls = "ldaps";
	l.ca_file = (char *)ldapt_env("SLAPD_CA_FILE");
	c = ldapt_open(&l, &r);
	ok(r == CPK_ERR_IO && !c && tls_msg(uri),
	   "ldaps:// to a port without TLS is a TLS failure: %s", cpk_errmsg());
	cpk_ldap_close(c);

	/* nobody listening: not a TLS failure, for ldaps:// and StartTLS */
	port = closed_port();
	snprintf(uri, sizeof(uri), "ldaps://127.0.0.1:%d/", port);
	c = ldapt_open(&l, &r);
	ok(port > 0 && r == CPK_ERR_IO && !c && ldapt_has_msg("cannot reach") &&
	   ldapt_has_msg(uri) && !ldapt_has_msg("TLS with"),
	   "ldaps:// to a closed port: cannot reach, not TLS: %s",
	   cpk_errmsg());
	cpk_ldap_close(c);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d/", port);
	l.tls = "starttls";
	c = ldapt_open(&l, &r);
	ok(port > 0 && r == CPK_ERR_IO && !c && ldapt_has_msg("cannot reach") &&
	   ldapt_has_msg(uri) && !ldapt_has_msg("TLS with"),
	   "StartTLS to a closed port: cannot reach, not TLS: %s",
	   cpk_errmsg());
	cpk_ldap_close(c);
	return 0;
}

static int run_down(const char *uri)
{
	struct cpk_ldap l = ldapt_cfg;
	struct cpk_ldap_conn *c = NULL;
	cpk_err_t r;
	double t0 = ldapt_now();

	l.uri = (char *)uri;
	r = cpk_ldap_open(&l, &ldapt_users, 0, &c);
	ok(r == CPK_ERR_IO && !c, "server down: CPK_ERR_IO (%s)",
	   cpk_strerror(r));
	ok(ldapt_has_msg(uri) && ldapt_has_msg("cannot reach"),
	   "message names the URI: %s", cpk_errmsg());
	ok(ldapt_now() - t0 < 2.0, "and comes fast (%.3f s)", ldapt_now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int rc;

	ldapt_setup();
	if (!strcmp(mode, "bind"))
		rc = run_bind();
	else if (!strcmp(mode, "noca"))
		rc = run_noca();
	else if (!strcmp(mode, "down") && argc > 2)
		rc = run_down(argv[2]);
	else {
		printf("Bail out! usage: ldap_conn bind|noca|down URI\n");
		rc = 1;
	}
	return rc ? rc : done_testing();
}
