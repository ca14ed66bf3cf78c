output "instance_name" {
  description = "Name of the Cloud SQL instance."
  value       = google_sql_database_instance.this.name
}

output "connection_name" {
  description = "Connection name (PROJECT:REGION:INSTANCE) for the Cloud SQL connector."
  value       = google_sql_database_instance.this.connection_name
}

output "private_ip_address" {
  description = "Private IP address of the instance."
  value       = google_sql_database_instance.this.private_ip_address
}

output "database_name" {
  description = "Name of the application database."
  value       = google_sql_database.this.name
}

output "iam_user_names" {
  description = "IAM database user names, by key."
  value       = { for key, user in google_sql_user.iam : key => user.name }
}
