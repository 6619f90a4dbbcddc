CREATE TABLE `task_events` (
	`task_id` text NOT NULL,
	`id` integer NOT NULL,
	`at` integer NOT NULL,
	`event` text NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`task_id`, `id`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`mode` text NOT NULL,
	`target` text NOT NULL,
	`status` text NOT NULL,
	`request` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`approval` text,
	`report_token` text NOT NULL,
	`exit_code` integer,
	`error` text,
	`answer` text,
	`output_tail` text DEFAULT '' NOT NULL,
	`output_bytes` integer DEFAULT 0 NOT NULL,
	`usage` text,
	`origin` text,
	`actor` text NOT NULL,
	`conversation_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_created_idx` ON `tasks` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_status_idx` ON `tasks` (`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `gateway_job_watch` ADD `kind` text DEFAULT 'job' NOT NULL;