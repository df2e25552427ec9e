#include "admin/ward.h"

int
ward_import_patients(struct store_conn *sc, json_t *patients)
{
	(void)sc;
	/* Patients arrive with the care module. */
	return (int)json_array_size(patients) * 0;
}
