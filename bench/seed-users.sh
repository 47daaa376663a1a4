# bench/seed-users.sh (sourced): seed_users_ldif N BASE prints the LDIF of
# N plain posixAccounts load00000... under ou=People,BASE (uids from
# 200000), for loading a directory fast with ldapadd.
seed_users_ldif() {
	awk -v n="$1" -v base="$2" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "dn: uid=load%05d,ou=People,%s\nobjectClass: inetOrgPerson\n" \
			    "objectClass: posixAccount\nobjectClass: shadowAccount\n" \
			    "cn: Load %d\nsn: Load\nuid: load%05d\nuidNumber: %d\n" \
			    "gidNumber: 100\nhomeDirectory: /home/load%05d\n" \
			    "loginShell: /bin/bash\ngecos: Load %d\n\n",
			    i, base, i, i, 200000 + i, i, i
	}'
}
