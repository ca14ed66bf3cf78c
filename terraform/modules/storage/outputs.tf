output "bucket_name" {
  description = "Name of the files bucket (COMPRIMEMELO_STORAGE_URL is gs://<name>/)."
  value       = google_storage_bucket.files.name
}

output "bucket_url" {
  description = "gs:// URL of the files bucket."
  value       = google_storage_bucket.files.url
}

output "access_log_bucket_name" {
  description = "Name of the bucket receiving the files bucket's access logs."
  value       = google_storage_bucket.access_logs.name
}
