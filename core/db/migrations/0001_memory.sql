CREATE TABLE `memories` (
	`id` text PRIMARY KEY NOT NULL,
	`text` text NOT NULL,
	`category` text NOT NULL,
	`source` text NOT NULL,
	`embedded_with` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `memories_category_updated_idx` ON `memories` (`category`,`updated_at`);--> statement-breakpoint
CREATE INDEX `memories_embedded_idx` ON `memories` (`embedded_with`);--> statement-breakpoint
CREATE TABLE `observations` (
	`id` text PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`from_seq` integer NOT NULL,
	`to_seq` integer NOT NULL,
	`reflection_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `observations_created_idx` ON `observations` (`created_at`);--> statement-breakpoint
CREATE INDEX `observations_reflection_idx` ON `observations` (`reflection_id`);--> statement-breakpoint
CREATE TABLE `observer_cursors` (
	`conversation_id` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `reflections` (
	`id` text PRIMARY KEY NOT NULL,
	`text` text NOT NULL,
	`observation_count` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reflections_created_idx` ON `reflections` (`created_at`);