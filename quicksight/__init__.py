"""QuickSight as code: data source, data sets, dashboard, SPICE refresh (coming with the dashboards issue)."""
