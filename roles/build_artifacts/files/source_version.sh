#!/bin/sh
# Prints the version of a set of source paths: the short id of the last commit
# that touched them, plus "-dirty-<hash>" when the work tree differs from it
# there (the hash covers the diff and the untracked files, so two different
# dirty states never share a version). Commits elsewhere do not change it.
#   source_version.sh REPO PATH...
set -eu
repo=$1
shift
cd "$repo"
commit=$(git log -1 --format=%H -- "$@")
if [ -z "$commit" ]; then
    echo "source_version.sh: no commit touches $*" >&2
    exit 2
fi
short=$(printf '%.12s' "$commit")
status=$(git status --porcelain --untracked-files=all -- "$@")
if [ -z "$status" ]; then
    echo "$short"
    exit 0
fi
digest=$( {
    git diff --no-color --binary HEAD -- "$@"
    git ls-files --others --exclude-standard -z -- "$@" | sort -z | xargs -0 -r sha256sum
} | sha256sum | cut -c1-8)
echo "$short-dirty-$digest"
