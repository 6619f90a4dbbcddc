CREATE TABLE `schedule_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`schedule_id` text NOT NULL,
	`due_at` integer NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`caught_up` integer DEFAULT false NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`link` text,
	`cost_usd` real,
	`instance` text NOT NULL,
	FOREIGN KEY (`schedule_id`) REFERENCES `schedules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `schedule_runs_schedule_idx` ON `schedule_runs` (`schedule_id`,`due_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `schedule_runs_due_idx` ON `schedule_runs` (`schedule_id`,`due_at`,`trigger`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`when` text NOT NULL,
	`time_zone` text NOT NULL,
	`kind` text NOT NULL,
	`action` text NOT NULL,
	`overlap` text NOT NULL,
	`catch_up` text NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`created_by` text NOT NULL,
	`conversation_id` text,
	`next_due_at` integer,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `schedules_next_idx` ON `schedules` (`next_due_at`);--> statement-breakpoint
CREATE INDEX `schedules_updated_idx` ON `schedules` (`updated_at`);