#!/usr/bin/env bash
# Regenerates the JSON Schemas in this folder from lemmy-js-client 0.19.9's TypeScript
# types. Needs node + npm (registry access). See README.md for provenance.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent lemmy-js-client@0.19.9 >/dev/null 2>&1   # always name the version: `latest` is a 2020 package
tar xzf lemmy-js-client-0.19.9.tgz
npm init -y >/dev/null 2>&1
npm install --no-save ts-json-schema-generator@2.4.0 >/dev/null 2>&1
gen=node_modules/.bin/ts-json-schema-generator
for t in LoginResponse GetSiteResponse GetPostsResponse GetPostResponse GetCommentsResponse \
         CommentResponse PostResponse ListMediaResponse BanPersonResponse BanFromCommunityResponse \
         SuccessResponse PostReportResponse CommentReportResponse ListPostReportsResponse \
         ListCommentReportsResponse PrivateMessageResponse PrivateMessagesResponse \
         GetCommunityResponse ListCommunitiesResponse \
         GetPersonDetailsResponse GetModlogResponse LemmyErrorType; do
  "$gen" --path "package/dist/types/$t.d.ts" --type "$t" --no-type-check -o "$here/$t.json"
done
