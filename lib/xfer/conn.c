/*
 * SSH connection setup like OpenSSH's ssh(1): see conn.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libssh/callbacks.h>

#include "conn.h"
#include "conn_cfg.h"
#include "internal.h"
#include "sshfp.h"
#include "xfer_priv.h"

#define DEF_CONNECT_MS 10000

/* Sets option OPT or returns a message naming WHAT and VALUE. */
static cpk_err_t set_opt(ssh_session ss, enum ssh_options_e opt,
			 const void *value, const char *what,
			 const char *shown)
{
	if (ssh_options_set(ss, opt, value) < 0)
		return cpk_err_set(CPK_ERR_INVALID, "invalid SSH option %s%s%s: "
				   "%s", what, shown ? " " : "",
				   shown ? shown : "", ssh_get_error(ss));
	return CPK_OK;
}

char *cpk_conn_describe(ssh_session ss)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char *user = NULL, *host = NULL;
	unsigned port = 22;

	if (!ss)
		return cpk_strdup("(no session)");
	ssh_options_get(ss, SSH_OPTIONS_USER, &user);
	ssh_options_get(ss, SSH_OPTIONS_HOST, &host);
	ssh_options_get_port(ss, &port);
	if (user)
		cpk_buf_addf(&b, "%s@", user);
	cpk_buf_addf(&b, "%s port %u", host ? host : "?", port);
	ssh_string_free_char(user);
	ssh_string_free_char(host);
	return cpk_buf_detach(&b, NULL);
}

/* The name known_hosts files use: host, or [host]:port. */
static char *known_name(ssh_session ss)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char *host = NULL;
	unsigned port = 22;

	ssh_options_get(ss, SSH_OPTIONS_HOST, &host);
	ssh_options_get_port(ss, &port);
	if (port == 22)
		cpk_buf_addstr(&b, host ? host : "?");
	else
		cpk_buf_addf(&b, "[%s]:%u", host ? host : "?", port);
	ssh_string_free_char(host);
	return cpk_buf_detach(&b, NULL);
}

/* Refuses the host key BLOB (BLEN bytes; TYPE and fingerprint FP, of host
 * NAME) if the known_hosts file PATH marks it @revoked. */
static cpk_err_t revoked(const char *name, const char *type, const char *fp,
			 const unsigned char *blob, size_t blen,
			 const char *path)
{
	unsigned long line;
	cpk_err_t err;

	if ((err = xkh_revoked(path, blob, blen, &line)) != 0 || !line)
		return err;
	return cpk_err_set(CPK_ERR_PERM, "REFUSED: the host key of %s (%s %s) "
			   "is REVOKED: %s line %lu marks it @revoked. Someone "
			   "may be using a stolen key to impersonate the host",
			   name, type, fp, path, line);
}

static cpk_err_t verify_host(ssh_session ss, const struct cpk_conn_opts *o)
{
	ssh_key key = NULL;
	unsigned char *blob = NULL;
	size_t blen = 0;
	char *b64 = NULL, *fp = NULL, *kh = NULL, *gkh = NULL, *name = NULL;
	const char *type;
	enum ssh_known_hosts_e st;
	cpk_err_t err = CPK_OK;

	name = known_name(ss);
	if (!name) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the fingerprint from the key's blob (sshfp.h): libssh 0.11 refuses
	 * to fingerprint some key types */
	if (ssh_get_server_publickey(ss, &key) < 0 ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    cpk_sshfp_decode(b64, strlen(b64), &blob, &blen) != CPK_OK ||
	    !(fp = cpk_sshfp_sha256(blob, blen))) {
		err = cpk_err_set(CPK_ERR_IO, "cannot get the host key of %s: "
				  "%s", name, ssh_get_error(ss));
		goto out;
	}
	type = ssh_key_type_to_char(ssh_key_type(key));
	if (!type)
		type = "unknown-type";
	if (o->hostkey_policy == CPK_HOSTKEY_NO_CHECK)
		goto out;
	ssh_options_get(ss, SSH_OPTIONS_KNOWNHOSTS, &kh);
	ssh_options_get(ss, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &gkh);
	/* libssh skips @revoked lines: a revoked key wins over any line that
	 * accepts it, in either file. */
	if ((err = revoked(name, type, fp, blob, blen, kh)) != 0 ||
	    (err = revoked(name, type, fp, blob, blen, gkh)) != 0)
		goto out;
	st = ssh_session_is_known_server(ss);
	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
		err = cpk_err_set(CPK_ERR_PERM, "REFUSED: the host key of %s "
				  "has CHANGED: the server offers %s %s, which "
				  "is not the key recorded in %s%s%s. Someone "
				  "may be intercepting the connection "
				  "(man-in-the-middle), or the host was "
				  "reinstalled; if that is expected, remove the "
				  "old key with: ssh-keygen -R '%s' -f %s",
				  name, type, fp, kh ? kh : "?",
				  gkh ? " or " : "", gkh ? gkh : "", name,
				  kh ? kh : "?");
		break;
	case SSH_KNOWN_HOSTS_OTHER:
		err = cpk_err_set(CPK_ERR_PERM, "REFUSED: %s offers a %s host "
				  "key (%s) but %s%s%s records a key of another "
				  "type for it: possible man-in-the-middle",
				  name, type, fp, kh ? kh : "?",
				  gkh ? " or " : "", gkh ? gkh : "");
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (o->hostkey_policy == CPK_HOSTKEY_ACCEPT_NEW) {
			if (ssh_session_update_known_hosts(ss) < 0)
				err = cpk_err_set(CPK_ERR_IO, "cannot add the "
						  "host key of %s to %s: %s",
						  name, kh ? kh : "?",
						  ssh_get_error(ss));
			break;
		}
		err = cpk_err_set(CPK_ERR_PERM, "REFUSED: the host key of %s is "
				  "unknown: the server offers %s %s, which is "
				  "in neither %s nor %s. Check the fingerprint "
				  "and add the key to known_hosts, or accept "
				  "new hosts explicitly", name, type, fp,
				  kh ? kh : "~/.ssh/known_hosts",
				  gkh ? gkh : "the global known_hosts");
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		err = cpk_err_set(CPK_ERR_IO, "cannot check the host key of %s "
				  "(%s %s) against %s: %s", name, type, fp,
				  kh ? kh : "?", ssh_get_error(ss));
		break;
	}
out:
	ssh_string_free_char(kh);
	ssh_string_free_char(gkh);
	free(fp);
	free(blob);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	free(name);
	return err;
}

static void add_method(struct cpk_buf *b, int methods, int bit,
		       const char *name)
{
	if (!(methods & bit))
		return;
	if (b->len)
		cpk_buf_addstr(b, ", ");
	cpk_buf_addstr(b, name);
}

/* The passphrases of encrypted keys during publickey_auto: asked of the
 * caller's callback, the key named. */
struct auth_ctx {
	ssh_session ss;
	const struct cpk_conn_opts *o;
	char *need;	/* a key whose passphrase none could give */
	char *asked;	/* a key whose passphrase was given */
};

static int ask_passphrase(const char *prompt, char *buf, size_t len,
			  int echo, int verify, void *arg)
{
	struct auth_ctx *a = arg;
	char *id = NULL;

	(void)prompt;
	(void)echo;
	(void)verify;
	if (!len || ssh_userauth_publickey_auto_get_current_identity(a->ss,
								     &id) !=
	    SSH_OK || !id)
		return -1;
	if (!a->o->passphrase || a->o->passphrase(id, buf, len,
						  a->o->passphrase_arg) != 0) {
		cpk_memwipe(buf, len);
		if (!a->need) {
			a->need = id;
			return -1;
		}
		ssh_string_free_char(id);
		return -1;
	}
	buf[len - 1] = '\0';
	if (!a->asked)
		a->asked = id;
	else
		ssh_string_free_char(id);
	return 0;
}

/* After authentication: no callback may point at a finished frame. */
static struct ssh_callbacks_struct no_callbacks = {
	.size = sizeof(struct ssh_callbacks_struct)
};

static cpk_err_t authenticate(ssh_session ss, const struct cpk_conn_opts *o,
			      const char *desc, int ids_only)
{
	struct cpk_buf m = CPK_BUF_INIT;
	struct auth_ctx a = { ss, o, NULL, NULL };
	struct ssh_callbacks_struct cb;
	int rc, methods;
	cpk_err_t err = CPK_OK;

	memset(&cb, 0, sizeof(cb));
	cb.userdata = &a;
	cb.auth_function = ask_passphrase;
	ssh_callbacks_init(&cb);
	ssh_set_callbacks(ss, &cb);
	/* Keys first: asking for "none" first, as ssh(1) does, costs every
	 * connection a round trip. */
	rc = ssh_userauth_publickey_auto(ss, NULL, NULL);
	ssh_set_callbacks(ss, &no_callbacks);
	if (rc == SSH_AUTH_SUCCESS)
		goto out;
	if (a.need) {
		err = cpk_err_set(CPK_ERR_PERM, "permission denied: %s would "
				  "take the key %s, but it is protected by a "
				  "passphrase and none could be asked for (no "
				  "terminal): load it into ssh-agent (ssh-add "
				  "%s) or run on a terminal", desc, a.need,
				  a.need);
		goto out;
	}
	if (a.asked) {
		err = cpk_err_set(CPK_ERR_PERM, "permission denied: %s would "
				  "take the key %s, but it could not be "
				  "decrypted with the passphrase given (wrong "
				  "passphrase?)", desc, a.asked);
		goto out;
	}
	if (rc == SSH_AUTH_ERROR) {
		err = cpk_err_set(CPK_ERR_IO, "publickey authentication to %s "
				  "failed: %s", desc, ssh_get_error(ss));
		goto out;
	}
	/* A server that needs nothing; otherwise learns what it accepts. */
	rc = ssh_userauth_none(ss, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		goto out;
	if (rc == SSH_AUTH_ERROR) {
		err = cpk_err_set(CPK_ERR_IO, "authentication to %s failed: %s",
				  desc, ssh_get_error(ss));
		goto out;
	}
	methods = ssh_userauth_list(ss, NULL);
	add_method(&m, methods, SSH_AUTH_METHOD_PUBLICKEY, "publickey");
	add_method(&m, methods, SSH_AUTH_METHOD_PASSWORD, "password");
	add_method(&m, methods, SSH_AUTH_METHOD_INTERACTIVE,
		   "keyboard-interactive");
	add_method(&m, methods, SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic");
	add_method(&m, methods, SSH_AUTH_METHOD_HOSTBASED, "hostbased");
	err = cpk_err_set(CPK_ERR_PERM, "permission denied: %s did not accept "
			  "any of our keys (%s%s, then %s); the server "
			  "accepts: %s%s", desc,
			  o->no_agent ? "no ssh-agent" : ids_only ?
			  "no ssh-agent: IdentitiesOnly" : "ssh-agent",
			  o->no_agent || ids_only || getenv("SSH_AUTH_SOCK") ? "" :
			  " (none running)",
			  o->identities && o->identities[0] ?
			  "the given identity files and the default ones" :
			  "IdentityFile / ~/.ssh/id_{ed25519,ecdsa,rsa}",
			  m.len ? m.buf : "nothing",
			  rc == SSH_AUTH_PARTIAL ? " (partial success: more "
			  "factors needed)" : "");
out:
	ssh_string_free_char(a.need);
	ssh_string_free_char(a.asked);
	cpk_buf_release(&m);
	return err;
}

/* How SS reaches its host (set up before ssh_connect(), MS the timeout):
 * through jump hosts (*JP then carries it), a ProxyCommand, a socket of
 * one address family, or a TCP connection libssh makes.  Also says
 * whether IdentitiesOnly holds. */
static cpk_err_t route(ssh_session ss, const struct cpk_conn_opts *o, int ms,
		       struct xjump **jp, int *ids_only)
{
	struct xcfg c;
	const char *jump, *pcmd;
	char *host = NULL;
	unsigned port = 22;
	int family, fd = -1;
	cpk_err_t err;

	*jp = NULL;
	if ((err = xcfg_read(o->config, o->host, &c)) != 0)
		goto out;
	/* explicit options first; ProxyJump and ProxyCommand exclude each
	 * other (the first of the config's wins, xcfg_read()) */
	jump = o->proxy_jump ? o->proxy_jump : o->proxy_command ? NULL :
	       c.proxy_jump;
	pcmd = o->proxy_command ? o->proxy_command : o->proxy_jump ? NULL :
	       c.proxy_command;
	if (jump && !strcasecmp(jump, "none"))
		jump = NULL;
	if (jump || (pcmd && !strcasecmp(pcmd, "none")))
		pcmd = NULL;
	family = o->address_family ? o->address_family :
		 c.family > 0 ? c.family : 0;
	*ids_only = o->identities_only || c.identities_only == 1;
	/* libssh's own ProxyCommand (0.10 makes one of ProxyJump, running
	 * OpenSSH's ssh) and jumps (0.11) give way to ours */
	if ((err = set_opt(ss, SSH_OPTIONS_PROXYCOMMAND, pcmd ? pcmd : "none",
			   "ProxyCommand", pcmd)) != 0)
		goto out;
#if LIBSSH_VERSION_INT >= SSH_VERSION_INT(0, 11, 0)
	if ((err = set_opt(ss, SSH_OPTIONS_PROXYJUMP, "none", "ProxyJump",
			   NULL)) != 0)
		goto out;
#endif
	if (!jump && (pcmd || !family))
		goto out;
	if (ssh_options_get(ss, SSH_OPTIONS_HOST, &host) != SSH_OK ||
	    ssh_options_get_port(ss, &port) != SSH_OK) {
		err = cpk_err_set(CPK_ERR_INVALID, "ssh: no host: %s",
				  ssh_get_error(ss));
		goto out;
	}
	if (jump)
		err = xjump_open(o, jump, host, port, &fd, jp);
	else
		err = xconn_tcp(host, port, family, ms, &fd);
	if (!err && (err = set_opt(ss, SSH_OPTIONS_FD, &fd, "fd", NULL)) != 0) {
		close(fd);
		xjump_close(*jp);
		*jp = NULL;
	}
out:
	ssh_string_free_char(host);
	xcfg_release(&c);
	return err;
}

static _Thread_local int last_dropped;

int cpk_conn_dropped(void)
{
	return last_dropped;
}

cpk_err_t cpk_conn_open(const struct cpk_conn_opts *o, ssh_session *out)
{
	ssh_session ss = NULL;
	struct xjump *jump = NULL;
	char *desc = NULL;
	int ms, one = 1, verbosity, ids_only = 0;
	long sec, usec;
	size_t i;
	cpk_err_t err = CPK_OK;

	*out = NULL;
	last_dropped = 0;
	if (!o || !o->host || !*o->host)
		return cpk_err_set(CPK_ERR_INVALID, "ssh: no host given");
	ss = ssh_new();
	if (!ss)
		return cpk_err_set(CPK_ERR_NOMEM, "out of memory");
	verbosity = o->log_verbosity;
	if ((err = set_opt(ss, SSH_OPTIONS_LOG_VERBOSITY, &verbosity,
			   "LogLevel", NULL)) != 0 ||
	    (err = set_opt(ss, SSH_OPTIONS_HOST, o->host, "host",
			   o->host)) != 0)
		goto out;

	/* 1. ssh_config, so that explicit options below override it. */
	if (o->config && !strcmp(o->config, "none")) {
		bool no = false;

		if ((err = set_opt(ss, SSH_OPTIONS_PROCESS_CONFIG, &no,
				   "ProcessConfig", NULL)) != 0)
			goto out;
	} else {
		if (o->config && access(o->config, R_OK) < 0) {
			err = cpk_err_sys("cannot read ssh config file %s",
					  o->config);
			goto out;
		}
		if (ssh_options_parse_config(ss, o->config) < 0) {
			err = cpk_err_set(CPK_ERR_CONFIG, "cannot parse ssh "
					  "config %s: %s", o->config ?
					  o->config : "~/.ssh/config",
					  ssh_get_error(ss));
			goto out;
		}
	}

	/* 2. Explicit options. */
	if (o->port) {
		unsigned port = o->port;

		if (port > 65535) {
			err = cpk_err_set(CPK_ERR_INVALID, "invalid port %u",
					  port);
			goto out;
		}
		if ((err = set_opt(ss, SSH_OPTIONS_PORT, &port, "Port",
				   NULL)) != 0)
			goto out;
	}
	if (o->user && (err = set_opt(ss, SSH_OPTIONS_USER, o->user, "User",
				      o->user)) != 0)
		goto out;
	for (i = 0; o->identities && o->identities[i]; i++) {
		if (access(o->identities[i], R_OK) < 0) {
			err = cpk_err_sys("cannot read identity file %s",
					  o->identities[i]);
			goto out;
		}
		if ((err = set_opt(ss, SSH_OPTIONS_ADD_IDENTITY,
				   o->identities[i], "IdentityFile",
				   o->identities[i])) != 0)
			goto out;
	}
	/* libssh has no "IdentityAgent none": a path that is no socket makes
	 * the agent unreachable, and publickey_auto goes on with files. */
	if (o->no_agent && (err = set_opt(ss, SSH_OPTIONS_IDENTITY_AGENT,
					  "/dev/null", "IdentityAgent",
					  NULL)) != 0)
		goto out;
	if (o->ciphers &&
	    ((err = set_opt(ss, SSH_OPTIONS_CIPHERS_C_S, o->ciphers, "Ciphers",
			    o->ciphers)) != 0 ||
	     (err = set_opt(ss, SSH_OPTIONS_CIPHERS_S_C, o->ciphers, "Ciphers",
			    o->ciphers)) != 0))
		goto out;
	if (o->known_hosts &&
	    (err = set_opt(ss, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts,
			   "UserKnownHostsFile", o->known_hosts)) != 0)
		goto out;
	if (o->global_known_hosts &&
	    (err = set_opt(ss, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
			   o->global_known_hosts, "GlobalKnownHostsFile",
			   o->global_known_hosts)) != 0)
		goto out;
	/* We decide about unknown hosts ourselves (verify_host). */
	if ((err = set_opt(ss, SSH_OPTIONS_STRICTHOSTKEYCHECK, &one,
			   "StrictHostKeyChecking", NULL)) != 0 ||
	    (err = set_opt(ss, SSH_OPTIONS_NODELAY, &one, "NoDelay",
			   NULL)) != 0)
		goto out;
	ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	     DEF_CONNECT_MS;
	sec = ms / 1000;
	usec = (long)(ms % 1000) * 1000;
	if ((err = set_opt(ss, SSH_OPTIONS_TIMEOUT, &sec, "ConnectTimeout",
			   NULL)) != 0 ||
	    (err = set_opt(ss, SSH_OPTIONS_TIMEOUT_USEC, &usec,
			   "ConnectTimeout", NULL)) != 0)
		goto out;

	/* 3. The way there; a jump lives as long as the session. */
	if ((err = route(ss, o, ms, &jump, &ids_only)) != 0)
		goto out;
	if (jump)
		xjump_attach(jump, ss);
	if (ids_only && !o->no_agent &&
	    (err = set_opt(ss, SSH_OPTIONS_IDENTITY_AGENT, "/dev/null",
			   "IdentitiesOnly", NULL)) != 0)
		goto out;
	desc = cpk_conn_describe(ss);
	if (!desc) {
		err = cpk_err_set(CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* 4. Connect, check the host, authenticate. */
	if (ssh_connect(ss) != SSH_OK) {
		/* libssh says "Socket error: ..." when the peer closed or
		 * reset an established connection ("disconnected",
		 * "Connection reset by peer"); a refused one or a timeout
		 * reads otherwise */
		last_dropped = !ssh_get_serverbanner(ss) &&
			       !strncmp(ssh_get_error(ss), "Socket error:", 13);
		err = cpk_err_set(CPK_ERR_IO, "cannot connect to %s (timeout "
				  "%d ms): %s", desc, ms, ssh_get_error(ss));
		goto out;
	}
	if ((err = verify_host(ss, o)) != 0 ||
	    (err = authenticate(ss, o, desc, ids_only)) != 0)
		goto out;
	*out = ss;
	ss = NULL;
out:
	free(desc);
	cpk_conn_close(ss);
	return err;
}

void cpk_conn_close(ssh_session ss)
{
	struct xjump *j;

	if (!ss)
		return;
	j = xjump_detach(ss);
	if (ssh_is_connected(ss))
		ssh_disconnect(ss);
	ssh_free(ss);
	xjump_close(j);
}
