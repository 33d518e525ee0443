"""The Admin page's sections: users and roles (users.py), promotion policies (policies.py), and the
one-rerun notes their actions leave (flash.py). views/admin.py chooses which sections a role sees."""
