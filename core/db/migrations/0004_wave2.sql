CREATE TABLE `gateway_chats` (
	`chat_key` text PRIMARY KEY NOT NULL,
	`pair_key` text NOT NULL,
	`conversation_id` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `gateway_inbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`update_key` text NOT NULL,
	`chat_key` text NOT NULL,
	`pair_key` text NOT NULL,
	`kind` text NOT NULL,
	`text` text,
	`message_id` text,
	`status` text NOT NULL,
	`turn_id` text,
	`conversation_id` text,
	`received_at` integer NOT NULL,
	`done_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gateway_inbox_update_idx` ON `gateway_inbox` (`update_key`);--> statement-breakpoint
CREATE INDEX `gateway_inbox_open_idx` ON `gateway_inbox` (`chat_key`,`id`) WHERE status IN ('received', 'started');--> statement-breakpoint
CREATE TABLE `gateway_job_watch` (
	`job_id` text PRIMARY KEY NOT NULL,
	`chat_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`reported_at` integer
);
--> statement-breakpoint
CREATE TABLE `gateway_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`lane` text NOT NULL,
	`op` text NOT NULL,
	`of` integer,
	`dedupe_key` text,
	`source` text NOT NULL,
	`text` text NOT NULL,
	`format` text NOT NULL,
	`reply_to` text,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_at` integer NOT NULL,
	`error` text,
	`message_id` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gateway_outbox_dedupe_idx` ON `gateway_outbox` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `gateway_outbox_status_idx` ON `gateway_outbox` (`status`,`lane`,`id`);--> statement-breakpoint
CREATE INDEX `gateway_outbox_of_idx` ON `gateway_outbox` (`of`);--> statement-breakpoint
CREATE TABLE `gateway_pairings` (
	`id` text PRIMARY KEY NOT NULL,
	`pair_key` text NOT NULL,
	`platform` text NOT NULL,
	`status` text NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`requested_by` text,
	`code` text,
	`code_expires_at` integer,
	`code_sent_at` integer,
	`notify` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`paired_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gateway_pairings_key_idx` ON `gateway_pairings` (`pair_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `gateway_pairings_code_idx` ON `gateway_pairings` (`code`);--> statement-breakpoint
CREATE INDEX `gateway_pairings_status_idx` ON `gateway_pairings` (`status`);--> statement-breakpoint
ALTER TABLE `conversations` ADD `compacted_through` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `compacted_at` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `summary` text;--> statement-breakpoint
ALTER TABLE `usage` ADD `saved_usd` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage` ADD `turn_id` text;--> statement-breakpoint
CREATE INDEX `usage_conversation_idx` ON `usage` (`conversation_id`);