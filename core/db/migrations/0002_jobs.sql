CREATE TABLE `bus_last_status` (
	`job_id` text PRIMARY KEY NOT NULL,
	`data` blob NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `bus_messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`queue` text NOT NULL,
	`data` blob NOT NULL,
	`headers` text NOT NULL,
	`dedupe_id` text,
	`deliveries` integer DEFAULT 0 NOT NULL,
	`visible_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `bus_messages_queue_idx` ON `bus_messages` (`queue`,`visible_at`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `bus_messages_dedupe_idx` ON `bus_messages` (`queue`,`dedupe_id`);--> statement-breakpoint
CREATE TABLE `job_statuses` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`status` text NOT NULL,
	`worker_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` integer NOT NULL,
	`applied` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `job_statuses_unique_idx` ON `job_statuses` (`job_id`,`status`,`worker_id`,`attempt`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`spec` text NOT NULL,
	`status` text NOT NULL,
	`result` text,
	`error` text,
	`idempotency_key` text,
	`worker_id` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`conversation_id` text,
	`trace_id` text,
	`timeout_ms` integer NOT NULL,
	`deadline_at` integer NOT NULL,
	`published_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_key_idx` ON `jobs` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`,`deadline_at`);--> statement-breakpoint
CREATE INDEX `jobs_created_idx` ON `jobs` (`created_at`,`id`);