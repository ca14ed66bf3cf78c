/**
 * The task queue: a topic the web role publishes to, an exactly-once
 * subscription the workers pull from, and a dead-letter topic and
 * subscription for messages that failed var.max_delivery_attempts times.
 */

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "tasks" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is accepted for task messages (IDs only, no file content); set var.kms_key_name to use a CMEK.
  project                    = var.project_id
  name                       = var.topic_name
  labels                     = var.labels
  kms_key_name               = var.kms_key_name
  message_retention_duration = var.topic_message_retention
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is accepted for task messages (IDs only, no file content); set var.kms_key_name to use a CMEK.
  project                    = var.project_id
  name                       = "${var.topic_name}-dead-letter"
  labels                     = var.labels
  kms_key_name               = var.kms_key_name
  message_retention_duration = var.topic_message_retention
}

resource "google_pubsub_subscription" "tasks" {
  project                      = var.project_id
  name                         = "${var.topic_name}-worker"
  topic                        = google_pubsub_topic.tasks.id
  labels                       = var.labels
  ack_deadline_seconds         = var.ack_deadline_seconds
  enable_exactly_once_delivery = true
  enable_message_ordering      = false
  message_retention_duration   = var.subscription_message_retention
  retain_acked_messages        = false

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = var.retry_backoff.minimum
    maximum_backoff = var.retry_backoff.maximum
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.topic_name}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.subscription_message_retention

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering: the Pub/Sub service agent must be able to publish to the
# dead-letter topic and to acknowledge the forwarded messages on the source.
resource "google_pubsub_topic_iam_member" "service_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "service_agent_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.tasks.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = var.publisher_members

  project = var.project_id
  topic   = google_pubsub_topic.tasks.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

resource "google_pubsub_subscription_iam_member" "subscriber" {
  for_each = var.subscriber_members

  project      = var.project_id
  subscription = google_pubsub_subscription.tasks.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = var.subscriber_members

  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

# The worker reads subscription metadata (e.g. the ack deadline) at start-up.
resource "google_pubsub_subscription_iam_member" "viewer" {
  for_each = var.subscriber_members

  project      = var.project_id
  subscription = google_pubsub_subscription.tasks.name
  role         = "roles/pubsub.viewer"
  member       = each.value
}
