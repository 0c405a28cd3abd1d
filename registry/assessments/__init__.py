"""Rating scales: their facts as versioned data, and pure scoring."""
