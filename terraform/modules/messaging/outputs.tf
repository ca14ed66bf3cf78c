output "topic_name" {
  description = "Short name of the task topic."
  value       = google_pubsub_topic.tasks.name
}

output "topic_id" {
  description = "Full ID of the task topic."
  value       = google_pubsub_topic.tasks.id
}

output "subscription_name" {
  description = "Short name of the workers' subscription (also the autoscaler's subscription_id)."
  value       = google_pubsub_subscription.tasks.name
}

output "dead_letter_topic_name" {
  description = "Short name of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription_name" {
  description = "Short name of the dead-letter subscription."
  value       = google_pubsub_subscription.dead_letter.name
}
