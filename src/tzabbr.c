/*
 * The zone abbreviation table (see tzabbr.h). Offsets are in minutes east of
 * UTC, written from public time zone data; single letters are the military
 * zones (J is unused by convention). Sorted by name for binary search.
 */
#include <string.h>

#include "tzabbr.h"

struct tzabbr {
	const char *name;
	int minutes;
};

static const struct tzabbr tzabbrs[] = {
    {"A", 60},       /* UTC+0100 */
    {"ACDT", 630},   /* UTC+1030 */
    {"ACST", 570},   /* UTC+0930 */
    {"ACT", 480},    /* UTC+0800 */
    {"ADT", -180},   /* UTC-0300 */
    {"AEDT", 660},   /* UTC+1100 */
    {"AEST", 600},   /* UTC+1000 */
    {"AFT", 270},    /* UTC+0430 */
    {"AKDT", -480},  /* UTC-0800 */
    {"AKST", -540},  /* UTC-0900 */
    {"ALMT", 360},   /* UTC+0600 */
    {"AMST", 300},   /* UTC+0500 */
    {"AMT", 240},    /* UTC+0400 */
    {"ANAST", 720},  /* UTC+1200 */
    {"ANAT", 720},   /* UTC+1200 */
    {"AQTT", 300},   /* UTC+0500 */
    {"ART", -180},   /* UTC-0300 */
    {"AST", -240},   /* UTC-0400 */
    {"AWDT", 540},   /* UTC+0900 */
    {"AWST", 480},   /* UTC+0800 */
    {"AZOT", -60},   /* UTC-0100 */
    {"AZST", 300},   /* UTC+0500 */
    {"AZT", 240},    /* UTC+0400 */
    {"B", 120},      /* UTC+0200 */
    {"BDT", 480},    /* UTC+0800 */
    {"BIOT", 360},   /* UTC+0600 */
    {"BNT", 480},    /* UTC+0800 */
    {"BOT", -240},   /* UTC-0400 */
    {"BRST", -120},  /* UTC-0200 */
    {"BRT", -180},   /* UTC-0300 */
    {"BTT", 360},    /* UTC+0600 */
    {"C", 180},      /* UTC+0300 */
    {"CAST", 480},   /* UTC+0800 */
    {"CAT", 120},    /* UTC+0200 */
    {"CCT", 390},    /* UTC+0630 */
    {"CDT", -300},   /* UTC-0500 */
    {"CEDT", 120},   /* UTC+0200 */
    {"CEST", 120},   /* UTC+0200 */
    {"CET", 60},     /* UTC+0100 */
    {"CIST", -480},  /* UTC-0800 */
    {"CKT", -600},   /* UTC-1000 */
    {"CLST", -180},  /* UTC-0300 */
    {"CLT", -240},   /* UTC-0400 */
    {"COST", -240},  /* UTC-0400 */
    {"COT", -300},   /* UTC-0500 */
    {"CST", -360},   /* UTC-0600 */
    {"CVT", -60},    /* UTC-0100 */
    {"CXT", 420},    /* UTC+0700 */
    {"D", 240},      /* UTC+0400 */
    {"DAVT", 420},   /* UTC+0700 */
    {"DFT", 60},     /* UTC+0100 */
    {"E", 300},      /* UTC+0500 */
    {"EASST", -300}, /* UTC-0500 */
    {"EAST", -360},  /* UTC-0600 */
    {"EAT", 180},    /* UTC+0300 */
    {"ECT", -300},   /* UTC-0500 */
    {"EDT", -240},   /* UTC-0400 */
    {"EEDT", 180},   /* UTC+0300 */
    {"EEST", 180},   /* UTC+0300 */
    {"EET", 120},    /* UTC+0200 */
    {"EGST", 0},     /* UTC+0000 */
    {"EGT", -60},    /* UTC-0100 */
    {"EST", -300},   /* UTC-0500 */
    {"ET", -300},    /* UTC-0500 */
    {"F", 360},      /* UTC+0600 */
    {"FJST", 780},   /* UTC+1300 */
    {"FJT", 720},    /* UTC+1200 */
    {"FKST", -180},  /* UTC-0300 */
    {"FKT", -240},   /* UTC-0400 */
    {"FNT", -120},   /* UTC-0200 */
    {"G", 420},      /* UTC+0700 */
    {"GALT", -360},  /* UTC-0600 */
    {"GAMT", -540},  /* UTC-0900 */
    {"GET", 240},    /* UTC+0400 */
    {"GFT", -180},   /* UTC-0300 */
    {"GILT", 720},   /* UTC+1200 */
    {"GIT", -540},   /* UTC-0900 */
    {"GMT", 0},      /* UTC+0000 */
    {"GST", 240},    /* UTC+0400 */
    {"GYT", -240},   /* UTC-0400 */
    {"H", 480},      /* UTC+0800 */
    {"HAA", -180},   /* UTC-0300 */
    {"HAC", -300},   /* UTC-0500 */
    {"HADT", -540},  /* UTC-0900 */
    {"HAE", -240},   /* UTC-0400 */
    {"HAP", -420},   /* UTC-0700 */
    {"HAR", -360},   /* UTC-0600 */
    {"HAST", -600},  /* UTC-1000 */
    {"HAT", -150},   /* UTC-0230 */
    {"HAY", -480},   /* UTC-0800 */
    {"HKT", 480},    /* UTC+0800 */
    {"HLV", -270},   /* UTC-0430 */
    {"HMT", 300},    /* UTC+0500 */
    {"HNA", -240},   /* UTC-0400 */
    {"HNC", -360},   /* UTC-0600 */
    {"HNE", -300},   /* UTC-0500 */
    {"HNP", -480},   /* UTC-0800 */
    {"HNR", -420},   /* UTC-0700 */
    {"HNT", -210},   /* UTC-0330 */
    {"HNY", -540},   /* UTC-0900 */
    {"HOVT", 420},   /* UTC+0700 */
    {"HST", -600},   /* UTC-1000 */
    {"I", 540},      /* UTC+0900 */
    {"ICT", 420},    /* UTC+0700 */
    {"IDT", 180},    /* UTC+0300 */
    {"IOT", 360},    /* UTC+0600 */
    {"IRDT", 270},   /* UTC+0430 */
    {"IRKST", 540},  /* UTC+0900 */
    {"IRKT", 480},   /* UTC+0800 */
    {"IRST", 210},   /* UTC+0330 */
    {"JST", 540},    /* UTC+0900 */
    {"K", 600},      /* UTC+1000 */
    {"KGT", 360},    /* UTC+0600 */
    {"KRAST", 480},  /* UTC+0800 */
    {"KRAT", 420},   /* UTC+0700 */
    {"KST", 540},    /* UTC+0900 */
    {"KUYT", 240},   /* UTC+0400 */
    {"L", 660},      /* UTC+1100 */
    {"LHDT", 660},   /* UTC+1100 */
    {"LHST", 630},   /* UTC+1030 */
    {"M", 720},      /* UTC+1200 */
    {"MAGST", 720},  /* UTC+1200 */
    {"MAGT", 660},   /* UTC+1100 */
    {"MART", -570},  /* UTC-0930 */
    {"MAWT", 300},   /* UTC+0500 */
    {"MDT", -360},   /* UTC-0600 */
    {"MHT", 720},    /* UTC+1200 */
    {"MIT", -570},   /* UTC-0930 */
    {"MMT", 390},    /* UTC+0630 */
    {"MSD", 240},    /* UTC+0400 */
    {"MSK", 180},    /* UTC+0300 */
    {"MST", -420},   /* UTC-0700 */
    {"MUT", 240},    /* UTC+0400 */
    {"MVT", 300},    /* UTC+0500 */
    {"MYT", 480},    /* UTC+0800 */
    {"N", -60},      /* UTC-0100 */
    {"NCT", 660},    /* UTC+1100 */
    {"NDT", -150},   /* UTC-0230 */
    {"NFT", 690},    /* UTC+1130 */
    {"NOVST", 420},  /* UTC+0700 */
    {"NOVT", 360},   /* UTC+0600 */
    {"NPT", 345},    /* UTC+0545 */
    {"NST", -210},   /* UTC-0330 */
    {"NT", -210},    /* UTC-0330 */
    {"NUT", -660},   /* UTC-1100 */
    {"NZDT", 780},   /* UTC+1300 */
    {"NZST", 720},   /* UTC+1200 */
    {"O", -120},     /* UTC-0200 */
    {"OMSST", 420},  /* UTC+0700 */
    {"OMST", 360},   /* UTC+0600 */
    {"P", -180},     /* UTC-0300 */
    {"PDT", -420},   /* UTC-0700 */
    {"PET", -300},   /* UTC-0500 */
    {"PETST", 720},  /* UTC+1200 */
    {"PETT", 720},   /* UTC+1200 */
    {"PGT", 600},    /* UTC+1000 */
    {"PHT", 480},    /* UTC+0800 */
    {"PKT", 300},    /* UTC+0500 */
    {"PMDT", -120},  /* UTC-0200 */
    {"PMST", -180},  /* UTC-0300 */
    {"PONT", 660},   /* UTC+1100 */
    {"PST", -480},   /* UTC-0800 */
    {"PT", -480},    /* UTC-0800 */
    {"PWT", 540},    /* UTC+0900 */
    {"PYST", -180},  /* UTC-0300 */
    {"PYT", -240},   /* UTC-0400 */
    {"Q", -240},     /* UTC-0400 */
    {"R", -300},     /* UTC-0500 */
    {"RET", 240},    /* UTC+0400 */
    {"S", -360},     /* UTC-0600 */
    {"SAMT", 240},   /* UTC+0400 */
    {"SAST", 120},   /* UTC+0200 */
    {"SBT", 660},    /* UTC+1100 */
    {"SCT", 240},    /* UTC+0400 */
    {"SGT", 480},    /* UTC+0800 */
    {"SLT", 330},    /* UTC+0530 */
    {"SRT", -180},   /* UTC-0300 */
    {"SST", -660},   /* UTC-1100 */
    {"T", -420},     /* UTC-0700 */
    {"TAHT", -600},  /* UTC-1000 */
    {"TFT", 300},    /* UTC+0500 */
    {"THA", 420},    /* UTC+0700 */
    {"TJT", 300},    /* UTC+0500 */
    {"TKT", -600},   /* UTC-1000 */
    {"TLT", 540},    /* UTC+0900 */
    {"TMT", 300},    /* UTC+0500 */
    {"TVT", 720},    /* UTC+1200 */
    {"U", -480},     /* UTC-0800 */
    {"ULAT", 480},   /* UTC+0800 */
    {"UTC", 0},      /* UTC+0000 */
    {"UYST", -120},  /* UTC-0200 */
    {"UYT", -180},   /* UTC-0300 */
    {"UZT", 300},    /* UTC+0500 */
    {"V", -540},     /* UTC-0900 */
    {"VET", -270},   /* UTC-0430 */
    {"VLAST", 660},  /* UTC+1100 */
    {"VLAT", 600},   /* UTC+1000 */
    {"VUT", 660},    /* UTC+1100 */
    {"W", -600},     /* UTC-1000 */
    {"WAST", 120},   /* UTC+0200 */
    {"WAT", 60},     /* UTC+0100 */
    {"WDT", 540},    /* UTC+0900 */
    {"WEDT", 60},    /* UTC+0100 */
    {"WEST", 60},    /* UTC+0100 */
    {"WET", 0},      /* UTC+0000 */
    {"WFT", 720},    /* UTC+1200 */
    {"WGST", -120},  /* UTC-0200 */
    {"WGT", -180},   /* UTC-0300 */
    {"WIB", 420},    /* UTC+0700 */
    {"WIT", 540},    /* UTC+0900 */
    {"WITA", 480},   /* UTC+0800 */
    {"WST", 480},    /* UTC+0800 */
    {"WT", 0},       /* UTC+0000 */
    {"X", -660},     /* UTC-1100 */
    {"Y", -720},     /* UTC-1200 */
    {"YAKST", 600},  /* UTC+1000 */
    {"YAKT", 540},   /* UTC+0900 */
    {"YAPT", 600},   /* UTC+1000 */
    {"YEKST", 360},  /* UTC+0600 */
    {"YEKT", 300},   /* UTC+0500 */
    {"Z", 0},        /* UTC+0000 */
};

#define NTZ (sizeof(tzabbrs) / sizeof(tzabbrs[0]))

static int
cmp_name(const char *s, size_t len, const char *name)
{
	size_t nl = strlen(name);
	int c = memcmp(s, name, len < nl ? len : nl);

	if (c != 0)
		return c;
	return len < nl ? -1 : len > nl ? 1 : 0;
}

bool
tzabbr_lookup(const char *s, size_t len, int *minutes)
{
	size_t lo = 0, hi = NTZ;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_name(s, len, tzabbrs[mid].name);

		if (c == 0) {
			*minutes = tzabbrs[mid].minutes;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t
tzabbr_count(void)
{
	return NTZ;
}

const char *
tzabbr_name(size_t i, int *minutes)
{
	if (i >= NTZ)
		return NULL;
	*minutes = tzabbrs[i].minutes;
	return tzabbrs[i].name;
}
