#!/usr/bin/env bash
# Regenerates the JSON Schemas in this folder (responses) and in requests/ (request bodies
# and query parameters) from lemmy-js-client 1.0.0-beta.2's TypeScript types, the same way
# ../generate.sh does for 0.19.9. Needs node + npm (registry access). See README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
version=1.0.0-beta.2   # always name the version: `latest` is a 2020 package
npm pack --silent "lemmy-js-client@$version" >/dev/null 2>&1
tar xzf "lemmy-js-client-$version.tgz"
npm init -y >/dev/null 2>&1
npm install --no-save ts-json-schema-generator@2.4.0 >/dev/null 2>&1
gen=node_modules/.bin/ts-json-schema-generator
types=package/dist/types

# v4 lists answer PagedResponse<T> and the client names no type for them: name each after
# its request type (GetPosts -> GetPostsResponse) in a small wrapper beside the client's.
cat > "$types/ModbotPaged.d.ts" <<'TS'
import { CommentView } from "./CommentView";
import { CommunityView } from "./CommunityView";
import { LocalImageView } from "./LocalImageView";
import { ModlogView } from "./ModlogView";
import { NotificationView } from "./NotificationView";
import { PagedResponse } from "./PagedResponse";
import { PostView } from "./PostView";
import { ReportCombinedView } from "./ReportCombinedView";
export type GetPostsResponse = PagedResponse<PostView>;
export type GetCommentsResponse = PagedResponse<CommentView>;
export type ListMediaResponse = PagedResponse<LocalImageView>;
export type ListReportsResponse = PagedResponse<ReportCombinedView>;
export type GetModlogResponse = PagedResponse<ModlogView>;
export type ListNotificationsResponse = PagedResponse<NotificationView>;
export type ListCommunitiesResponse = PagedResponse<CommunityView>;
TS

# What the server answers (what a moderation bot reads).
for t in LoginResponse GetSiteResponse MyUserInfo SuccessResponse GetPostResponse PostResponse \
         CommentResponse PersonResponse PostReportResponse CommentReportResponse \
         PrivateMessageResponse GetCommunityResponse CommunityResponse GetPersonDetailsResponse \
         LemmyErrorType NodeInfo; do
  "$gen" --path "$types/$t.d.ts" --type "$t" --no-type-check -o "$here/$t.json"
done
for t in GetPostsResponse GetCommentsResponse ListMediaResponse ListReportsResponse \
         GetModlogResponse ListNotificationsResponse ListCommunitiesResponse; do
  "$gen" --path "$types/ModbotPaged.d.ts" --type "$t" --no-type-check -o "$here/$t.json"
done

# What the bot sends (bodies of POST/PUT/DELETE, query parameters of GET).
mkdir -p "$here/requests"
for t in Login GetPosts GetPost GetComments GetComment ListMedia RemovePost RemoveComment \
         PurgePost PurgeComment PurgePerson BanPerson BanFromCommunity CreatePostReport \
         CreateCommentReport ResolvePostReport ResolveCommentReport ListReports \
         CreatePrivateMessage ListNotifications MarkNotificationAsRead DeleteImageParams \
         ImageGetParams ImageProxyParams GetCommunity GetPersonDetails GetModlog SaveUserSettings PurgeCommunity \
         ListCommunities; do
  "$gen" --path "$types/$t.d.ts" --type "$t" --no-type-check -o "$here/requests/$t.json"
done
