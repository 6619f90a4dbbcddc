CREATE TABLE `companions` (
	`id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`last_seen_at` integer,
	`info` text,
	`heartbeat` text
);
