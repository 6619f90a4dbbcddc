CREATE TABLE `bus_kv` (
	`bucket` text NOT NULL,
	`key` text NOT NULL,
	`value` blob NOT NULL,
	`revision` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`bucket`, `key`)
);
--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`message` text NOT NULL,
	`once_key` text,
	`created_at` integer NOT NULL,
	`read_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_once_idx` ON `notifications` (`once_key`);--> statement-breakpoint
CREATE INDEX `notifications_created_idx` ON `notifications` (`created_at`);--> statement-breakpoint
DROP TABLE `bus_last_status`;--> statement-breakpoint
ALTER TABLE `bus_messages` ADD `subject` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `lease_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `partial` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_partial_idx` ON `messages` (`partial`) WHERE partial = 1;--> statement-breakpoint
ALTER TABLE `usage` ADD `origin` text;