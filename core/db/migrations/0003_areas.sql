CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`outcome` text NOT NULL,
	`actor` text NOT NULL,
	`address` text,
	`target` text,
	`detail` text,
	CONSTRAINT "audit_outcome_check" CHECK("audit_log"."outcome" IN ('ok', 'refused', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `audit_action_idx` ON `audit_log` (`action`);--> statement-breakpoint
CREATE INDEX `audit_outcome_idx` ON `audit_log` (`outcome`);--> statement-breakpoint
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
ALTER TABLE `usage` ADD `origin` text;--> statement-breakpoint
CREATE TRIGGER `audit_log_no_update` BEFORE UPDATE ON `audit_log` BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;--> statement-breakpoint
CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log` BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;--> statement-breakpoint
CREATE TRIGGER `audit_log_no_replace` BEFORE INSERT ON `audit_log` WHEN EXISTS (SELECT 1 FROM `audit_log` WHERE `id` = NEW.`id`) BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
