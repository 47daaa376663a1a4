<?php
/*
 * Runs LDAP Account Manager's own code on a server profile: loads profile
 * NAME from LAMDIR/config (LAM's loader), logs in as the profile's first
 * admin with the password in PWFILE, and takes COUNT uids and gids with
 * the generators the profile names (posixAccount::getNextUIDs,
 * posixGroup::getNextGIDs).  Prints "setting KEY=VALUE" lines for what LAM
 * read, then "uid N" and "gid N" lines.
 * usage: php lam_pool.php LAMDIR NAME PWFILE COUNT
 */
[$prog, $lamdir, $name, $pwfile, $count] = $argv;
$_SESSION = [];
include_once "$lamdir/lib/config.inc";
include_once "$lamdir/lib/ldap.inc";
include_once "$lamdir/lib/modules.inc";

$conf = (new ServerProfilePersistenceManager())->loadProfile($name);
$_SESSION['config'] = $conf;
$_SESSION['cfgMain'] = new LAMCfgMain();
printf("setting ServerURL=%s\n", $conf->get_ServerURL());
printf("setting useTLS=%s\n", $conf->getUseTLS());
printf("setting Admins=%s\n", implode(';', $conf->get_Admins()));
printf("setting activeTypes=%s\n", implode(',', $conf->get_ActiveTypes()));
foreach ($conf->get_typeSettings() as $k => $v)
	printf("setting types.%s=%s\n", $k, $v);
foreach ($conf->get_moduleSettings() as $k => $v)
	printf("setting modules.%s=%s\n", $k, implode('|', $v));

$ldap = new Ldap($conf);
$ldap->connect($conf->get_Admins()[0], rtrim(file_get_contents($pwfile), "\n"));
$_SESSION['ldap'] = $ldap;

$errors = [];
$acct = new posixAccount('user');
$uids = $acct->getNextUIDs((int)$count, $errors, 'user');
$grp = new posixGroup('group');
$gtype = (new \LAM\TYPES\TypeManager())->getConfiguredType('group');
$gids = $grp->getNextGIDs((int)$count, $errors, $gtype);
foreach ($errors as $e)
	fprintf(STDERR, "lam error: %s\n", implode(' ', (array)$e));
if (!is_array($uids) || !is_array($gids)) {
	fprintf(STDERR, "lam gave no ids\n");
	exit(1);
}
foreach ($uids as $u)
	printf("uid %d\n", $u);
foreach ($gids as $g)
	printf("gid %d\n", $g);
