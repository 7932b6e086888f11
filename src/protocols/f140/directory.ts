/**
 * The F140 directory: a node's users, their friends with the challenge/response pairs agreed out of
 * band (spec.md §4), and their groups. Built once from the node's configuration; read-only after.
 *
 * Rule: pure lookups. It must not keep state that changes during a run (that lives in ./store.ts).
 */
import type { Endpoint } from '../protocol.js';

/** One direction of a friendship: the challenge the caller sends and the response the callee answers. */
export interface ChallengePair {
  readonly challenge: string;
  readonly response: string;
}

export interface FriendConfig {
  /** The friend's globally unique username, such as `bob@b.test`. */
  readonly user: string;
  /** Where the friend's node listens (a PING's `reply_to` may move it later). */
  readonly host: string;
  readonly port: number;
  /** Used when we call them: we send `challenge` and expect `response` back. */
  readonly outbound: ChallengePair;
  /** Used when they call us: they send `challenge` and we answer `response`. */
  readonly inbound: ChallengePair;
}

export interface UserConfig {
  readonly name: string;
  readonly friends: readonly FriendConfig[];
  /** Group name to member usernames; every member must be a friend. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

/** Up to this many friends, a user's list is searched in place rather than indexed. */
const scannedFriendsMax = 16;

export class Directory {
  private readonly users = new Map<string, UserConfig>();
  /**
   * Local user to remote user to the first friendship configured for them: `friendOf` is asked per
   * queued message. Built on the first question about a user with more than `scannedFriendsMax`
   * friends, so that a quiet node, or one whose users have a few friends each, keeps no second copy.
   */
  private friendships: Map<string, Map<string, FriendConfig>> | undefined;

  constructor(users: readonly UserConfig[]) {
    for (const user of users) this.users.set(user.name, user);
  }

  isLocal(user: string): boolean {
    return this.users.has(user);
  }

  localUsers(): string[] {
    return [...this.users.keys()];
  }

  /** `remote` as a friend of local user `local`, if they are friends. */
  friendOf(local: string, remote: string): FriendConfig | undefined {
    // A short list is searched in place (the first friendship configured, as the index keeps).
    const friends = this.users.get(local)?.friends;
    if (friends === undefined) return undefined;
    if (friends.length <= scannedFriendsMax) return friends.find((friend) => friend.user === remote);
    if (this.friendships === undefined) {
      this.friendships = new Map();
      for (const user of this.users.values()) {
        const friends = new Map<string, FriendConfig>();
        for (const friend of user.friends) if (!friends.has(friend.user)) friends.set(friend.user, friend);
        this.friendships.set(user.name, friends);
      }
    }
    return this.friendships.get(local)?.get(remote);
  }

  /**
   * Checks the triple `from_user:challenge:to_user` (F140 MSG, §4.3): `to` is ours, `from` is its
   * friend, and `challenge` is the one agreed for calls from `from` to `to`. Returns the friendship.
   */
  verify(from: string, challenge: string, to: string): FriendConfig | undefined {
    const friend = this.friendOf(to, from);
    return friend && friend.inbound.challenge === challenge ? friend : undefined;
  }

  /** Every remote user some local user friends, in configuration order, each once. */
  remotes(): string[] {
    const seen = new Set<string>();
    for (const user of this.users.values()) for (const friend of user.friends) seen.add(friend.user);
    return [...seen];
  }

  /** The configured address of `remote` (from the first local user that friends it). */
  addressOf(remote: string): Endpoint | undefined {
    const friend = this.firstFriendship(remote);
    return friend && { host: friend.friend.host, port: friend.friend.port };
  }

  /** The first (local user, friendship) pair for `remote`: whose credentials an announcing PING uses. */
  firstFriendship(remote: string): { local: string; friend: FriendConfig } | undefined {
    for (const user of this.users.values()) {
      const friend = user.friends.find((f) => f.user === remote);
      if (friend) return { local: user.name, friend };
    }
    return undefined;
  }

  groupMembers(local: string, group: string): readonly string[] | undefined {
    const groups = this.users.get(local)?.groups;
    return groups && Object.hasOwn(groups, group) ? groups[group] : undefined;
  }

  view(): unknown {
    return [...this.users.values()].map((user) => ({
      name: user.name,
      friends: user.friends.map((friend) => friend.user),
      groups: user.groups,
    }));
  }
}
